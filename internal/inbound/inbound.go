// Package inbound is the one handler through which Virtuous objects reach
// Backstop, whether a webhook delivered them or a reconciliation pass found
// them. It is idempotent and order-independent: applying the same object
// twice, or an older version after a newer one, leaves the state that the
// newest version alone would have left, with no second audit outcome.
package inbound

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/record"
	"backstop/internal/store"
)

// Object is one Virtuous Gift or Contact, reduced to what the handler needs.
type Object struct {
	Kind       record.Kind
	VirtuousID int64
	// ContactID is a gift's Virtuous contact.
	ContactID *int64
	// Keys are the external references Virtuous holds for the object: a
	// gift's transactionSource/transactionId, a contact's contactReferences.
	Keys []Key
	// ModifiedAt is Virtuous' modifiedDateTimeUtc: the version.
	ModifiedAt time.Time
	// Values are the object's own fields of the drift mapping.
	Values record.Values
	// Data is the object as Virtuous sent it, for the changes feed.
	Data json.RawMessage
	// Deleted marks a GiftDelete.
	Deleted bool
	// MergedInto is set on a contact merged into another.
	MergedInto *int64
}

// Key is an external reference.
type Key struct{ Source, ID string }

// Via says who found the objects, for confirmations and the audit trail.
type Via struct {
	ConfirmedVia record.ConfirmedVia // webhook or reconciliation (or lookup, manual)
	Actor        string
	Category     string
	// Note is added to each confirmation's audit details, e.g. "recovered
	// through reconciliation, not the webhook path".
	Note string
}

// Result counts what a batch did.
type Result struct {
	Confirmed    []int64 // records moved to confirmed
	Updated      int     // snapshots of known records refreshed
	Ignored      int     // versions not newer than the one held
	VirtuousOnly int     // objects with no record on the platform side
	Deleted      int
}

// Applied is how many objects changed something.
func (r Result) Applied() int { return len(r.Confirmed) + r.Updated + r.VirtuousOnly + r.Deleted }

// Handler applies objects for any tenant.
type Handler struct {
	Store *store.Store
	Now   func() time.Time
}

// Apply applies a batch of objects of one kind in one transaction.
func (h *Handler) Apply(ctx context.Context, tenantID int64, kind record.Kind, objs []Object, via Via) (Result, error) {
	var res Result
	err := h.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		res, err = h.ApplyTx(ctx, tx, tenantID, kind, objs, via)
		return err
	})
	return res, err
}

// ApplyTx is Apply inside a caller's transaction (the webhook worker marks
// its event applied in the same one).
func (h *Handler) ApplyTx(ctx context.Context, tx *sqlx.Tx, tenantID int64, kind record.Kind, objs []Object, via Via) (Result, error) {
	objs = newestPerID(objs)
	b := &batch{h: h, tx: tx, tenantID: tenantID, kind: kind, via: via, now: h.Now().UTC()}
	if err := b.load(ctx, objs); err != nil {
		return Result{}, err
	}
	if kind == record.Contact {
		if err := b.cacheContacts(ctx, objs); err != nil {
			return Result{}, err
		}
	}
	for i := range objs {
		if err := b.decide(ctx, &objs[i]); err != nil {
			return Result{}, err
		}
	}
	if err := b.write(ctx); err != nil {
		return Result{}, err
	}
	return b.res, nil
}

// newestPerID keeps, for each Virtuous id, its newest version (a deletion
// beats an update of the same time), so one batch never applies two
// versions of one object.
func newestPerID(objs []Object) []Object {
	idx := make(map[int64]int, len(objs))
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		i, seen := idx[o.VirtuousID]
		switch {
		case !seen:
			idx[o.VirtuousID] = len(out)
			out = append(out, o)
		case o.ModifiedAt.After(out[i].ModifiedAt) || (o.Deleted && !out[i].Deleted && !o.ModifiedAt.Before(out[i].ModifiedAt)):
			out[i] = o
		}
	}
	return out
}

type batch struct {
	h        *Handler
	tx       *sqlx.Tx
	tenantID int64
	kind     record.Kind
	via      Via
	now      time.Time

	byKey map[Key]*record.Record
	byVID map[int64]*record.Record
	// contacts holds the cached Virtuous contacts of the gifts in the batch.
	contacts map[int64]record.Values

	snaps   []store.Snapshot
	changes []store.ChangeRow
	audits  []audit.Entry
	res     Result
}

func (b *batch) load(ctx context.Context, objs []Object) error {
	var srcs, ids []string
	var vids, cids []int64
	for _, o := range objs {
		for _, k := range o.Keys {
			srcs, ids = append(srcs, k.Source), append(ids, k.ID)
		}
		vids = append(vids, o.VirtuousID)
		if o.ContactID != nil {
			cids = append(cids, *o.ContactID)
		}
	}
	recs, err := b.h.Store.LockRecordsFor(ctx, b.tx, b.tenantID, b.kind, srcs, ids, vids)
	if err != nil {
		return err
	}
	b.byKey = make(map[Key]*record.Record, len(recs))
	b.byVID = make(map[int64]*record.Record, len(recs))
	for _, r := range recs {
		b.byKey[Key{r.ExtSource, r.ExtID}] = r
		if r.VirtuousID != nil {
			b.byVID[*r.VirtuousID] = r
		}
	}
	b.contacts = map[int64]record.Values{}
	if b.kind == record.Gift && len(cids) > 0 {
		cs, err := b.h.Store.VirtuousContacts(ctx, b.tx, b.tenantID, cids)
		if err != nil {
			return err
		}
		for id, c := range cs {
			b.contacts[id] = record.UnmarshalValues(c.Data)
		}
	}
	return nil
}

// find matches an object to its record: by external key first (the join key
// Virtuous and the platform share), else by Virtuous id.
func (b *batch) find(o *Object) *record.Record {
	for _, k := range o.Keys {
		if r, ok := b.byKey[k]; ok {
			return r
		}
	}
	return b.byVID[o.VirtuousID]
}

func (b *batch) decide(ctx context.Context, o *Object) error {
	r := b.find(o)
	if r == nil {
		b.res.VirtuousOnly++
		change := "created"
		if o.Deleted {
			change = "deleted"
		}
		b.changes = append(b.changes, store.ChangeRow{Kind: b.kind, VirtuousID: o.VirtuousID, Change: change, ModifiedAt: o.ModifiedAt, Data: o.Data})
		// The spec's Category 3 outcome: in Virtuous, missing here, handed
		// to the platform through the changes feed.
		b.reconciled(nil, "reconcile.virtuous_only", "", o, map[string]any{"kind": b.kind, "change": change,
			"note": "in Virtuous but not on the platform: offered to the platform on the changes feed"})
		return nil
	}
	if stale(r, o) {
		b.res.Ignored++
		return nil
	}
	dirty, err := b.differs(r, o)
	if err != nil {
		return err
	}
	snap := store.Snapshot{
		RecordID: r.ID, VirtuousID: o.VirtuousID, ContactID: o.ContactID, Values: record.MarshalValues(o.Values),
		ModifiedAt: o.ModifiedAt, Deleted: o.Deleted, DriftDirty: dirty,
	}
	change := "updated"
	if o.Deleted {
		change = "deleted"
		b.res.Deleted++
	}
	b.changes = append(b.changes, store.ChangeRow{Kind: b.kind, VirtuousID: o.VirtuousID, Change: change,
		RecordID: &r.ID, PlatformID: r.PlatformID, ModifiedAt: o.ModifiedAt, Data: o.Data})
	switch {
	case r.Status == record.Submitted || r.Status == record.NeedsReview:
		// A deletion confirms too: Virtuous held the record, and a delete
		// delivered before its create must end where create-then-delete does.
		snap.Confirm, snap.Details = true, b.confirmDetails(o)
	case o.Deleted:
		b.reconciled(r, "reconcile.deleted", "deleted:", o, map[string]any{"note": "deleted in Virtuous"})
	default:
		b.res.Updated++
		// A version the webhook path never delivered: an outcome. A record
		// not yet submitted (or failed) that Virtuous holds is one too.
		d := map[string]any{}
		if r.Status != record.Confirmed && r.Status != record.Conflict {
			d["note"] = fmt.Sprintf("Virtuous holds this record while it is %s here", r.Status)
		}
		b.reconciled(r, "reconcile.applied", "applied:", o, d)
	}
	b.snaps = append(b.snaps, snap)
	if o.MergedInto != nil && b.kind == record.Contact {
		return b.h.Store.RepointContact(ctx, b.tx, b.tenantID, o.VirtuousID, *o.MergedInto)
	}
	return nil
}

// reconciled records what a reconciliation pass learned from o that is not
// a confirmation (those are audited with the status change): one row per
// object version, so a re-read page adds nothing. Webhooks are the normal
// path and leave no such rows.
func (b *batch) reconciled(r *record.Record, action, keyPrefix string, o *Object, details map[string]any) {
	if b.via.ConfirmedVia != record.ViaReconciliation {
		return
	}
	details["virtuous_id"] = o.VirtuousID
	details["virtuous_modified_at"] = o.ModifiedAt
	e := audit.Entry{TenantID: b.tenantID, At: b.now, Actor: b.via.Actor, Action: action, Category: b.via.Category,
		Details: audit.Details(details)}
	var key string
	if r == nil {
		key = fmt.Sprintf("virtuous_only:%s:%d:%d:%t", b.kind, o.VirtuousID, o.ModifiedAt.UnixMicro(), o.Deleted)
	} else {
		key = fmt.Sprintf("%s%d:%d", keyPrefix, r.ID, o.ModifiedAt.UnixMicro())
		e.RecordID, e.FromStatus, e.ToStatus = &r.ID, string(r.Status), string(r.Status)
	}
	e.DedupeKey = &key
	b.audits = append(b.audits, e)
}

// stale reports whether r already holds o's version or a newer one.
func stale(r *record.Record, o *Object) bool {
	if r.VirtuousModifiedAt == nil || r.VirtuousID == nil || *r.VirtuousID != o.VirtuousID {
		return false
	}
	if o.Deleted {
		return r.VirtuousDeletedAt != nil
	}
	return !o.ModifiedAt.After(*r.VirtuousModifiedAt)
}

func (b *batch) confirmDetails(o *Object) json.RawMessage {
	d := map[string]any{"virtuous_id": o.VirtuousID, "via": b.via.ConfirmedVia}
	if b.via.Note != "" {
		d["note"] = b.via.Note
	}
	return audit.Details(d)
}

// differs: do the sides disagree, as far as is known? It is computed from
// the newest snapshot alone (not OR-ed with earlier answers), so it does not
// depend on the order versions arrived in.
func (b *batch) differs(r *record.Record, o *Object) (bool, error) {
	pv, err := record.PlatformValues(r.Kind, r.Payload)
	if err != nil {
		return false, fmt.Errorf("record %d: read platform body: %w", r.ID, err)
	}
	vv := record.Values{}
	for f, v := range o.Values {
		vv[f] = v
	}
	if o.ContactID != nil {
		for f, v := range b.contacts[*o.ContactID] {
			vv[f] = v
		}
	}
	return len(record.Compare(pv, vv)) > 0, nil
}

func (b *batch) write(ctx context.Context) error {
	st := b.h.Store
	a := audit.Entry{Actor: b.via.Actor, Action: "confirmed." + string(b.via.ConfirmedVia), Category: b.via.Category}
	moved, err := st.ApplySnapshots(ctx, b.tx, b.tenantID, b.now, b.via.ConfirmedVia, a, b.snaps)
	if err != nil {
		return err
	}
	b.res.Confirmed = moved
	if err := st.UpsertChanges(ctx, b.tx, b.tenantID, b.now, b.changes); err != nil {
		return err
	}
	return st.AppendAudits(ctx, b.tx, b.audits)
}
