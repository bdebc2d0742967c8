package virtuoussim

import (
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// submitGift puts an accepted gift transaction into the holding state. A
// transaction whose key is already pending, in the bucket or imported is
// ignored (Virtuous deduplicates on transactionSource + transactionId); the
// caller still answers 200. A key whose gift was deleted or whose bucket item
// was discarded can be submitted again.
func (o *Org) submitGift(tx *giftTx) (dedup bool) {
	k := txKey{tx.src, tx.txid}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.pendingGift[k]; ok {
		return true
	}
	if _, ok := o.bucketByKey[k]; ok {
		return true
	}
	if g, ok := o.giftByTx[k]; ok && !g.deleted {
		return true
	}
	o.nextSeq++
	p := &pendingTx{seq: o.nextSeq, key: k, gift: tx, submitted: o.now()}
	o.pending = append(o.pending, p)
	o.pendingGift[k] = p
	return false
}

// submitContact puts a contact transaction into the holding state. A second
// transaction for the same reference before the batch replaces the first:
// the batch merges the newest data.
func (o *Org) submitContact(ct *contactTx) {
	k := txKey{ct.refSource, ct.refID}
	o.mu.Lock()
	defer o.mu.Unlock()
	if p, ok := o.pendingCont[k]; ok {
		p.contact = ct
		return
	}
	o.nextSeq++
	p := &pendingTx{seq: o.nextSeq, isContact: true, key: k, contact: ct, submitted: o.now()}
	o.pending = append(o.pending, p)
	o.pendingCont[k] = p
}

// RunBatch runs the nightly import now: every pending transaction is matched
// and imported, or moved to the bucket. Records are stamped with the clock's
// current time and their webhooks are raised.
func (o *Org) RunBatch() BatchResult { return o.runBatchAt(o.now()) }

func (o *Org) runBatchAt(at time.Time) BatchResult {
	start := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	var res BatchResult
	pend := o.pending
	o.pending = nil
	clear(o.pendingGift)
	clear(o.pendingCont)
	for _, p := range pend {
		res.Processed++
		p.batched = at
		if p.isContact {
			o.importContact(p.contact, at, &res)
			continue
		}
		o.importGift(p, at, &res)
	}
	if res.Processed > 0 {
		o.sim.log.Info("batch ran", slog.String("org", o.name), slog.Int("processed", res.Processed),
			slog.Int("gifts", res.GiftsCreated), slog.Int("matchNeeded", res.MatchNeeded),
			slog.Int("updateNeeded", res.UpdateNeeded), slog.Duration("took", time.Since(start)))
	}
	return res
}

func (o *Org) importContact(ct *contactTx, at time.Time, res *BatchResult) {
	if c := o.matchContact(0, refKey{ct.refSource, ct.refID}, ct.email); c != nil {
		if o.mergeInto(c, *ct) {
			o.touchContact(c, at, userImport)
			o.emitContact(EventContactUpdate, c)
			res.ContactsUpdated++
		}
		return
	}
	c := o.newContact(*ct, at, userImport)
	o.emitContact(EventContactCreate, c)
	res.ContactsCreated++
}

// unmatched decides whether the batch fails to match a gift transaction's
// donor: always for the configured email domain, otherwise by a hash of the
// key, so the outcome does not depend on submission order.
func (o *Org) unmatched(tx *giftTx) (bool, string) {
	if d := o.cfg.UnmatchedEmailDomain; d != "" && emailDomain(tx.contact.email) == d {
		return true, fmt.Sprintf("No confident match for %s", tx.contact.email)
	}
	if tx.contactID != 0 {
		if o.liveContact(tx.contactID) == nil {
			return true, fmt.Sprintf("Contact %d does not exist", tx.contactID)
		}
		return false, ""
	}
	if o.cfg.UnmatchedRate > 0 && unit(o.sim.hash64("unmatched", o.name, tx.src, tx.txid)) < o.cfg.UnmatchedRate {
		return true, "Several possible contacts; none definitive"
	}
	return false, ""
}

func (o *Org) importGift(p *pendingTx, at time.Time, res *BatchResult) {
	tx := p.gift
	if um, why := o.unmatched(tx); um {
		o.toBucket(p, BucketMatchNeeded, why)
		res.MatchNeeded++
		return
	}
	if tx.giftType == "" {
		why := "Gift type is required"
		if tx.rawGiftType != "" {
			why = fmt.Sprintf("Unknown gift type %q", tx.rawGiftType)
		}
		o.toBucket(p, BucketUpdateNeeded, why)
		res.UpdateNeeded++
		return
	}
	c := o.matchContact(tx.contactID, refKey{tx.src, tx.contact.refID}, tx.contact.email)
	if c == nil {
		c = o.newContact(tx.contact, at, userImport)
		o.emitContact(EventContactCreate, c)
		res.ContactsCreated++
	} else if tx.contact.refID != "" {
		if _, ok := o.contactByRef[refKey{tx.src, tx.contact.refID}]; !ok {
			o.addReference(c, refKey{tx.src, tx.contact.refID})
			o.touchContact(c, at, userImport)
			o.emitContact(EventContactUpdate, c)
			res.ContactsUpdated++
		}
	}
	g := o.newGift(tx, c, at, userImport)
	o.emitGift(EventGiftCreate, g)
	res.GiftsCreated++
}

func (o *Org) toBucket(p *pendingTx, bucket, reason string) {
	p.bucket, p.reason = bucket, reason
	o.bucket = append(o.bucket, p)
	o.bucketByKey[p.key] = p
}

func (o *Org) removeFromBucket(p *pendingTx) {
	delete(o.bucketByKey, p.key)
	if i := slices.Index(o.bucket, p); i >= 0 {
		o.bucket = slices.Delete(o.bucket, i, i+1)
	}
}

// Bucket lists the gift transactions waiting in Match Needed or Update
// Needed, oldest first.
func (o *Org) Bucket() []Pending {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]Pending, 0, len(o.bucket))
	for _, p := range o.bucket {
		out = append(out, pendingView(p))
	}
	return out
}

// PendingTransactions lists the transactions still in the holding state
// (submitted, not yet batched).
func (o *Org) PendingTransactions() []Pending {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]Pending, 0, len(o.pending))
	for _, p := range o.pending {
		if !p.isContact {
			out = append(out, pendingView(p))
		}
	}
	return out
}

func pendingView(p *pendingTx) Pending {
	tx := p.gift
	return Pending{
		Bucket: p.bucket, Reason: p.reason, TransactionSource: tx.src, TransactionID: tx.txid,
		Submitted: p.submitted, Batched: p.batched, FirstName: tx.contact.firstName,
		LastName: tx.contact.lastName, Email: tx.contact.email,
		Amount: formatDecimal(tx.amount, tx.currency), Currency: tx.currency,
	}
}

// Resolve is an administrator acting on a bucket item: attach it to
// contactID (0 creates a new contact from the transaction), import the gift
// and raise GiftCreate (and ContactCreate for a new contact). An Update
// Needed item with an unknown gift type is imported as "Other".
func (o *Org) Resolve(transactionSource, transactionID string, contactID int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.bucketByKey[txKey{transactionSource, transactionID}]
	if !ok {
		return fmt.Errorf("bucket item %s/%s: %w", transactionSource, transactionID, ErrNotFound)
	}
	at := o.now()
	var c *contact
	if contactID != 0 {
		if c = o.liveContact(contactID); c == nil {
			return fmt.Errorf("contact %d: %w", contactID, ErrNotFound)
		}
	} else {
		c = o.newContact(p.gift.contact, at, userAdmin)
		o.emitContact(EventContactCreate, c)
	}
	o.removeFromBucket(p)
	g := o.newGift(p.gift, c, at, userAdmin)
	o.emitGift(EventGiftCreate, g)
	return nil
}

// Discard drops a transaction from the bucket (or from the holding state):
// it never becomes a gift, and its lookup stays 404.
func (o *Org) Discard(transactionSource, transactionID string) error {
	k := txKey{transactionSource, transactionID}
	o.mu.Lock()
	defer o.mu.Unlock()
	if p, ok := o.bucketByKey[k]; ok {
		o.removeFromBucket(p)
		return nil
	}
	if p, ok := o.pendingGift[k]; ok {
		delete(o.pendingGift, k)
		if i := slices.Index(o.pending, p); i >= 0 {
			o.pending = slices.Delete(o.pending, i, i+1)
		}
		return nil
	}
	return fmt.Errorf("transaction %s/%s: %w", transactionSource, transactionID, ErrNotFound)
}
