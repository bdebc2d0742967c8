package virtuoussim

import (
	"fmt"
	"strings"
	"time"

	"backstop/internal/money"
)

// The operations below are what a Virtuous user does in the web UI. They
// change records behind the client's back, which is how drift and
// Virtuous-only records come about, and they raise the webhooks Virtuous
// would.

// GiftEdit lists the gift fields a user changes; nil fields stay as they are.
type GiftEdit struct {
	Amount       *money.Decimal      `json:"amount,omitempty"`
	GiftDate     *string             `json:"giftDate,omitempty"`
	GiftType     *string             `json:"giftType,omitempty"`
	CurrencyCode *string             `json:"currencyCode,omitempty"`
	Designations *[]DesignationInput `json:"designations,omitempty"`
	Notes        *string             `json:"notes,omitempty"`
	Batch        *string             `json:"batch,omitempty"`
}

// ContactEdit lists the contact fields a user changes; nil fields stay.
type ContactEdit struct {
	Name      *string  `json:"name,omitempty"`
	FirstName *string  `json:"firstName,omitempty"`
	LastName  *string  `json:"lastName,omitempty"`
	Email     *string  `json:"email,omitempty"`
	Phone     *string  `json:"phone,omitempty"`
	Address   *Address `json:"address,omitempty"`
}

// applyGiftEdit changes g in place (o.mu held). A change of amount without
// new designations moves a single designation along with it; with several
// designations the user must give them.
func (o *Org) applyGiftEdit(g *gift, e GiftEdit) error {
	cur := g.currency
	if e.CurrencyCode != nil {
		c := strings.ToUpper(strings.TrimSpace(*e.CurrencyCode))
		if !money.ValidCurrency(c) {
			return fmt.Errorf("currency %q: %w", *e.CurrencyCode, ErrInvalid)
		}
		cur = c
	}
	amount := g.amount
	if e.Amount != nil {
		a, err := parseAmount(*e.Amount, cur)
		if err != nil {
			return fmt.Errorf("amount: %v: %w", err, ErrInvalid)
		}
		amount = a
	} else if cur != g.currency && money.Digits(cur) != money.Digits(g.currency) {
		return fmt.Errorf("changing %s to %s needs an amount: %w", g.currency, cur, ErrInvalid)
	}
	date := g.date
	if e.GiftDate != nil {
		d, ok := parseDate(*e.GiftDate)
		if !ok {
			return fmt.Errorf("gift date %q: %w", *e.GiftDate, ErrInvalid)
		}
		date = d
	}
	gt := g.giftType
	if e.GiftType != nil {
		t, ok := giftTypes[strings.ToLower(strings.TrimSpace(*e.GiftType))]
		if !ok {
			return fmt.Errorf("gift type %q: %w", *e.GiftType, ErrInvalid)
		}
		gt = t[0]
	}
	desigs := g.designations
	switch {
	case e.Designations != nil:
		desigs = nil
		var sum int64
		for _, d := range *e.Designations {
			a, err := parseAmount(d.AmountDesignated, cur)
			if err != nil {
				return fmt.Errorf("designation amount: %v: %w", err, ErrInvalid)
			}
			p, ok := o.resolveProject(d.ID, d.Name, d.Code)
			if !ok {
				return fmt.Errorf("project %d: %w", d.ID, ErrNotFound)
			}
			desigs = append(desigs, giftDesignation{id: o.nextDesignation, projectID: p.id, amount: a})
			o.nextDesignation++
			sum += a
		}
		if len(desigs) > 0 && sum != amount {
			return fmt.Errorf("designations sum to %s, not %s: %w", formatDecimal(sum, cur), formatDecimal(amount, cur), ErrInvalid)
		}
	case amount != g.amount && len(g.designations) == 1:
		desigs = []giftDesignation{g.designations[0]}
		desigs[0].amount = amount
	case amount != g.amount && len(g.designations) > 1:
		return fmt.Errorf("gift %d has %d designations; give new ones with the amount: %w", g.id, len(g.designations), ErrInvalid)
	}
	g.currency, g.amount, g.date, g.giftType, g.designations = cur, amount, date, gt, desigs
	if e.Notes != nil {
		g.notes = *e.Notes
	}
	if e.Batch != nil {
		g.batch = *e.Batch
	}
	return nil
}

// EditGift changes a gift as a user would in the UI: modifiedDateTimeUtc
// moves and GiftUpdate is raised.
func (o *Org) EditGift(id int64, e GiftEdit) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	g := o.giftByID[id]
	if g == nil || g.deleted {
		return fmt.Errorf("gift %d: %w", id, ErrNotFound)
	}
	if err := o.applyGiftEdit(g, e); err != nil {
		return err
	}
	o.touchGift(g, o.now(), userAdmin)
	o.emitGift(EventGiftUpdate, g)
	return nil
}

func (o *Org) applyContactEdit(c *contact, e ContactEdit) error {
	if e.Email != nil {
		if ie := checkEmail(*e.Email, o.cfg); ie != nil && *e.Email != "" {
			return fmt.Errorf("%s: %w", ie.msg, ErrInvalid)
		}
		o.setEmail(c, *e.Email, c.emailType)
	}
	if e.Phone != nil {
		o.setPhone(c, *e.Phone, c.phoneType)
	}
	if e.FirstName != nil {
		c.firstName = *e.FirstName
	}
	if e.LastName != nil {
		c.lastName = *e.LastName
	}
	if e.Name != nil {
		c.name = *e.Name
	} else if e.FirstName != nil || e.LastName != nil {
		c.name = contactName(contactTx{firstName: c.firstName, lastName: c.lastName, email: c.email})
	}
	if e.Address != nil {
		c.address = *e.Address
	}
	return nil
}

// EditContact changes a contact as a user would in the UI; ContactUpdate is
// raised.
func (o *Org) EditContact(id int64, e ContactEdit) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.contactByID[id]
	if c == nil {
		return fmt.Errorf("contact %d: %w", id, ErrNotFound)
	}
	if err := o.applyContactEdit(c, e); err != nil {
		return err
	}
	o.touchContact(c, o.now(), userAdmin)
	o.emitContact(EventContactUpdate, c)
	return nil
}

// DeleteGift deletes a gift: lookups and queries stop finding it and
// GiftDelete is raised with the gift as it was. Nothing else tells a client
// that the gift is gone.
func (o *Org) DeleteGift(id int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	g := o.giftByID[id]
	if g == nil || g.deleted {
		return fmt.Errorf("gift %d: %w", id, ErrNotFound)
	}
	o.emitGift(EventGiftDelete, g)
	g.deleted = true
	delete(o.giftByID, id)
	if k := (txKey{g.src, g.txid}); o.giftByTx[k] == g {
		delete(o.giftByTx, k)
	}
	o.compactGifts()
	return nil
}

// MergeContacts merges contact from into contact into, as the UI's merge
// does: from gets mergedIntoContactId, its gifts, references and email move
// to into, and both raise ContactUpdate. The moved gifts get a new
// modifiedDateTimeUtc (so a Last Modified query sees their new contactId)
// but no GiftUpdate webhook, as a bulk re-point in Virtuous would not send
// one.
func (o *Org) MergeContacts(from, into int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	f, t := o.contactByID[from], o.contactByID[into]
	switch {
	case f == nil:
		return fmt.Errorf("contact %d: %w", from, ErrNotFound)
	case t == nil:
		return fmt.Errorf("contact %d: %w", into, ErrNotFound)
	case from == into || f.mergedInto != 0 || t.mergedInto != 0:
		return fmt.Errorf("merge %d into %d: %w", from, into, ErrConflict)
	}
	at := o.now()
	f.mergedInto = into
	for _, id := range f.gifts {
		g := o.giftByID[id]
		if g == nil || g.deleted {
			continue
		}
		g.contactID, g.individualID = into, t.individualID
		o.touchGift(g, at, userAdmin)
		t.gifts = append(t.gifts, id)
	}
	f.gifts = nil
	for _, r := range f.references {
		o.addReference(t, r)
	}
	if f.email != "" {
		if t.email == "" {
			o.setEmail(t, f.email, f.emailType)
		} else if o.contactByEmail[normEmail(f.email)] == f {
			o.contactByEmail[normEmail(f.email)] = t
		}
	}
	o.touchContact(f, at, userAdmin)
	o.touchContact(t, at, userAdmin)
	o.emitContact(EventContactUpdate, f)
	o.emitContact(EventContactUpdate, t)
	return nil
}

// DirectGift is a gift keyed in by a Virtuous user: it has no transaction
// (unless one is given), so it exists only in Virtuous until a client's
// query or webhook brings it over.
type DirectGift struct {
	// ContactID attaches the gift to an existing contact; 0 creates one from
	// FirstName, LastName and Email.
	ContactID         int64              `json:"contactId"`
	FirstName         string             `json:"firstName"`
	LastName          string             `json:"lastName"`
	Email             string             `json:"email"`
	Amount            money.Decimal      `json:"amount"`
	CurrencyCode      string             `json:"currencyCode"`
	GiftDate          string             `json:"giftDate"`
	GiftType          string             `json:"giftType"`
	Notes             string             `json:"notes"`
	Designations      []DesignationInput `json:"designations"`
	TransactionSource string             `json:"transactionSource"`
	TransactionID     string             `json:"transactionId"`
}

// CreateGiftDirect creates a gift immediately (no batch) and raises
// GiftCreate (and ContactCreate for a new contact).
func (o *Org) CreateGiftDirect(d DirectGift) (GiftSnapshot, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	cur := strings.ToUpper(strings.TrimSpace(d.CurrencyCode))
	if cur == "" {
		cur = "USD"
	}
	if !money.ValidCurrency(cur) {
		return GiftSnapshot{}, fmt.Errorf("currency %q: %w", d.CurrencyCode, ErrInvalid)
	}
	amt, err := parseAmount(d.Amount, cur)
	if err != nil {
		return GiftSnapshot{}, fmt.Errorf("amount: %v: %w", err, ErrInvalid)
	}
	gt := "Cash"
	if d.GiftType != "" {
		t, ok := giftTypes[strings.ToLower(d.GiftType)]
		if !ok {
			return GiftSnapshot{}, fmt.Errorf("gift type %q: %w", d.GiftType, ErrInvalid)
		}
		gt = t[0]
	}
	at := o.now()
	date := at.Truncate(24 * time.Hour)
	if d.GiftDate != "" {
		var ok bool
		if date, ok = parseDate(d.GiftDate); !ok {
			return GiftSnapshot{}, fmt.Errorf("gift date %q: %w", d.GiftDate, ErrInvalid)
		}
	}
	if k := (txKey{d.TransactionSource, d.TransactionID}); k.source != "" && k.id != "" {
		if g, ok := o.giftByTx[k]; ok && !g.deleted {
			return GiftSnapshot{}, fmt.Errorf("transaction %s: %w", k, ErrConflict)
		}
	}
	tx := &giftTx{src: d.TransactionSource, txid: d.TransactionID, giftType: gt, date: date,
		amount: amt, currency: cur, notes: d.Notes, isTaxDeductible: true}
	var sum int64
	for _, di := range d.Designations {
		a, err := parseAmount(di.AmountDesignated, cur)
		if err != nil {
			return GiftSnapshot{}, fmt.Errorf("designation amount: %v: %w", err, ErrInvalid)
		}
		sum += a
		tx.designations = append(tx.designations, designationTx{projectID: di.ID, name: di.Name, code: di.Code, amount: a})
	}
	if len(tx.designations) > 0 && sum != amt {
		return GiftSnapshot{}, fmt.Errorf("designations sum to %s, not %s: %w", formatDecimal(sum, cur), formatDecimal(amt, cur), ErrInvalid)
	}
	var c *contact
	if d.ContactID != 0 {
		if c = o.liveContact(d.ContactID); c == nil {
			return GiftSnapshot{}, fmt.Errorf("contact %d: %w", d.ContactID, ErrNotFound)
		}
	} else {
		if c = o.matchContact(0, refKey{}, d.Email); c == nil {
			c = o.newContact(contactTx{firstName: d.FirstName, lastName: d.LastName, email: d.Email}, at, userAdmin)
			o.emitContact(EventContactCreate, c)
		}
	}
	g := o.newGift(tx, c, at, userAdmin)
	o.emitGift(EventGiftCreate, g)
	return o.giftSnapshot(g), nil
}

// Gifts returns every live gift, by id.
func (o *Org) Gifts() []GiftSnapshot {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]GiftSnapshot, 0, len(o.giftByID))
	for _, g := range o.gifts {
		if !g.deleted {
			out = append(out, o.giftSnapshot(g))
		}
	}
	return out
}

// Gift returns the gift with the given id.
func (o *Org) Gift(id int64) (GiftSnapshot, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	g := o.giftByID[id]
	if g == nil {
		return GiftSnapshot{}, false
	}
	return o.giftSnapshot(g), true
}

// GiftByTransaction returns the gift imported from the given transaction.
func (o *Org) GiftByTransaction(source, id string) (GiftSnapshot, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	g := o.giftByTx[txKey{source, id}]
	if g == nil || g.deleted {
		return GiftSnapshot{}, false
	}
	return o.giftSnapshot(g), true
}

// Contacts returns every contact (merged ones included), by id.
func (o *Org) Contacts() []ContactSnapshot {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := make([]ContactSnapshot, 0, len(o.contacts))
	for _, c := range o.contacts {
		out = append(out, o.contactSnapshot(c))
	}
	return out
}

// Contact returns the contact with the given id.
func (o *Org) Contact(id int64) (ContactSnapshot, bool) {
	o.mu.RLock()
	defer o.mu.RUnlock()
	c := o.contactByID[id]
	if c == nil {
		return ContactSnapshot{}, false
	}
	return o.contactSnapshot(c), true
}
