package virtuoussim

import (
	"strings"
	"time"
)

// Record creation and mutation shared by the batch, the admin operations and
// the PUT endpoints. Callers hold o.mu for writing.

const (
	userImport = "Gift Import"
	userAPI    = "API User"
	userAdmin  = "Virtuous User"
)

func contactName(ct contactTx) string {
	if ct.name != "" {
		return ct.name
	}
	n := strings.TrimSpace(ct.firstName + " " + ct.lastName)
	if n == "" {
		n = ct.email
	}
	if n == "" {
		n = "Unknown Donor"
	}
	return n
}

// newContact creates a contact from transaction data.
func (o *Org) newContact(ct contactTx, at time.Time, by string) *contact {
	c := &contact{id: o.nextContact, createdBy: by, modifiedBy: by}
	o.nextContact++
	c.style = o.styleFor("contact", c.id)
	c.contactType = ct.contactType
	if c.contactType == "" {
		c.contactType = "Household"
	}
	c.name = contactName(ct)
	c.individualID = o.nextIndividual
	o.nextIndividual++
	c.prefix = ct.title
	c.firstName, c.middleName, c.lastName = ct.firstName, ct.middleName, ct.lastName
	c.addressID = o.nextAddress
	o.nextAddress++
	o.setEmail(c, ct.email, ct.emailType)
	o.setPhone(c, ct.phone, ct.phoneType)
	c.address = ct.address
	c.customFields = ct.customFields
	if ct.refSource != "" && ct.refID != "" {
		o.addReference(c, refKey{ct.refSource, ct.refID})
	}
	c.created = stamp(at, time.Time{}, c.style)
	c.modified = c.created
	c.createdDay, c.modifiedDay = epochDay(c.created), epochDay(c.modified)
	o.contacts = append(o.contacts, c)
	o.contactByID[c.id] = c
	return c
}

func (o *Org) setEmail(c *contact, email, typ string) {
	email = strings.TrimSpace(email)
	if c.email != "" && o.contactByEmail[normEmail(c.email)] == c {
		delete(o.contactByEmail, normEmail(c.email))
	}
	c.email = email
	if email == "" {
		return
	}
	if typ == "" {
		typ = "Home Email"
	}
	c.emailType = typ
	if c.emailMethodID == 0 {
		c.emailMethodID = o.nextMethod
		o.nextMethod++
	}
	if _, taken := o.contactByEmail[normEmail(email)]; !taken {
		o.contactByEmail[normEmail(email)] = c
	}
}

func (o *Org) setPhone(c *contact, phone, typ string) {
	c.phone = strings.TrimSpace(phone)
	if c.phone == "" {
		return
	}
	if typ == "" {
		typ = "Home Phone"
	}
	c.phoneType = typ
	if c.phoneMethodID == 0 {
		c.phoneMethodID = o.nextMethod
		o.nextMethod++
	}
}

func (o *Org) addReference(c *contact, r refKey) {
	for _, x := range c.references {
		if x == r {
			return
		}
	}
	c.references = append(c.references, r)
	o.contactByRef[r] = c
}

// mergeInto applies newer contact data to an existing contact the way the
// batch merges a matched Contact Transaction: non-empty fields win. It
// reports whether anything changed.
func (o *Org) mergeInto(c *contact, ct contactTx) bool {
	changed := false
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst = v
			changed = true
		}
	}
	set(&c.firstName, ct.firstName)
	set(&c.middleName, ct.middleName)
	set(&c.lastName, ct.lastName)
	set(&c.prefix, ct.title)
	if ct.email != "" && !strings.EqualFold(ct.email, c.email) {
		o.setEmail(c, ct.email, ct.emailType)
		changed = true
	}
	if ct.phone != "" && ct.phone != c.phone {
		o.setPhone(c, ct.phone, ct.phoneType)
		changed = true
	}
	if !ct.address.empty() && ct.address != c.address {
		c.address = ct.address
		changed = true
	}
	if ct.refSource != "" && ct.refID != "" {
		n := len(c.references)
		o.addReference(c, refKey{ct.refSource, ct.refID})
		changed = changed || len(c.references) != n
	}
	return changed
}

func (o *Org) touchContact(c *contact, at time.Time, by string) {
	c.modified = stamp(at, c.modified, c.style)
	c.modifiedDay = epochDay(c.modified)
	c.modifiedBy = by
}

// matchContact finds the existing contact a transaction belongs to: by
// explicit contact id, by reference, then by email. Virtuous also matches on
// phone, address and name with confidence scores; the simulator keeps to the
// definitive keys.
func (o *Org) matchContact(id int64, ref refKey, email string) *contact {
	if id != 0 {
		if c := o.liveContact(id); c != nil {
			return c
		}
	}
	if ref.source != "" && ref.id != "" {
		if c := o.contactByRef[ref]; c != nil {
			return o.liveContact(c.id)
		}
	}
	if email != "" {
		if c := o.contactByEmail[normEmail(email)]; c != nil {
			return o.liveContact(c.id)
		}
	}
	return nil
}

// newGift creates a gift for contact c from a transaction.
func (o *Org) newGift(tx *giftTx, c *contact, at time.Time, by string) *gift {
	g := &gift{
		id: o.nextGift, src: tx.src, txid: tx.txid,
		contactID: c.id, individualID: c.individualID,
		giftType: tx.giftType, date: tx.date, amount: tx.amount, currency: tx.currency,
		batch: tx.batch, notes: tx.notes, receiptDate: tx.receiptDate,
		isPrivate: tx.isPrivate, isTaxDeductible: tx.isTaxDeductible,
		customFields: tx.customFields, createdBy: by, modifiedBy: by,
	}
	o.nextGift++
	if g.giftType == "" {
		g.giftType = "Other"
	}
	g.style = o.styleFor("gift", g.id)
	g.segmentCode = tx.segment
	g.segmentID = o.segmentID(tx.segment)
	for _, d := range tx.designations {
		p, ok := o.resolveProject(d.projectID, d.name, d.code)
		if !ok {
			p = o.projectByID[1]
		}
		g.designations = append(g.designations, giftDesignation{id: o.nextDesignation, projectID: p.id, amount: d.amount})
		o.nextDesignation++
	}
	g.created = stamp(at, time.Time{}, g.style)
	g.modified = g.created
	g.createdDay, g.modifiedDay = epochDay(g.created), epochDay(g.modified)
	o.insertGift(g)
	c.gifts = append(c.gifts, g.id)
	return g
}

// insertGift adds g to the indexes. Ids only grow, so appending keeps the
// slice sorted by id, which is the default query order.
func (o *Org) insertGift(g *gift) {
	o.gifts = append(o.gifts, g)
	o.giftByID[g.id] = g
	if g.src != "" && g.txid != "" {
		o.giftByTx[txKey{g.src, g.txid}] = g
	}
}

func (o *Org) touchGift(g *gift, at time.Time, by string) {
	g.modified = stamp(at, g.modified, g.style)
	g.modifiedDay = epochDay(g.modified)
	g.modifiedBy = by
}

// compactGifts drops tombstones once they are a large share of the slice,
// so deletes do not slow queries down for ever.
func (o *Org) compactGifts() {
	dead := 0
	for _, g := range o.gifts {
		if g.deleted {
			dead++
		}
	}
	if dead < 64 || dead*4 < len(o.gifts) {
		return
	}
	live := o.gifts[:0]
	for _, g := range o.gifts {
		if !g.deleted {
			live = append(live, g)
		}
	}
	clear(o.gifts[len(live):])
	o.gifts = live
}

func (o *Org) giftSnapshot(g *gift) GiftSnapshot {
	s := GiftSnapshot{
		ID: g.id, TransactionSource: g.src, TransactionID: g.txid, ContactID: g.contactID,
		ContactIndividualID: g.individualID, GiftType: g.giftType, GiftDate: g.date.Format("2006-01-02"),
		Amount: formatDecimal(g.amount, g.currency), AmountMinor: g.amount, Currency: g.currency,
		Batch: g.batch, Notes: g.notes, Created: g.created, Modified: g.modified,
		Designations: []Designation{},
	}
	for _, d := range g.designations {
		p := o.projectByID[d.projectID]
		s.Designations = append(s.Designations, Designation{
			ID: d.id, ProjectID: d.projectID, Project: p.name, ProjectCode: p.code,
			Amount: formatDecimal(d.amount, g.currency), AmountMinor: d.amount,
		})
	}
	if len(g.customFields) > 0 {
		s.CustomFields = map[string]string{}
		for _, f := range g.customFields {
			s.CustomFields[f.name] = f.value
		}
	}
	return s
}

func (o *Org) contactSnapshot(c *contact) ContactSnapshot {
	s := ContactSnapshot{
		ID: c.id, ContactType: c.contactType, Name: c.name, FirstName: c.firstName, LastName: c.lastName,
		Email: c.email, Phone: c.phone, Address: c.address, MergedInto: c.mergedInto,
		References: []Reference{}, GiftIDs: []int64{}, Created: c.created, Modified: c.modified,
	}
	for _, r := range c.references {
		s.References = append(s.References, Reference{Source: r.source, ID: r.id})
	}
	for _, id := range c.gifts {
		if g := o.giftByID[id]; g != nil && !g.deleted {
			s.GiftIDs = append(s.GiftIDs, id)
		}
	}
	return s
}
