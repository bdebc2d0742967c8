package virtuoussim

import (
	"slices"
	"strings"
	"time"
)

// giftFields are the Gift query parameters the simulator knows.
var giftFields = []field[gift]{
	{name: "Gift Id", kind: kindInt, num: func(g *gift) (int64, bool) { return g.id, true }},
	{name: "Contact Id", kind: kindInt, num: func(g *gift) (int64, bool) { return g.contactID, true }},
	{name: "Transaction Source", kind: kindString, str: func(g *gift) string { return g.src }},
	{name: "Transaction Id", kind: kindString, str: func(g *gift) string { return g.txid }},
	{name: "Create Date", kind: kindDate, day: func(g *gift) (int64, bool) { return g.createdDay, true }},
	{name: "Last Modified Date", kind: kindDate, day: func(g *gift) (int64, bool) { return g.modifiedDay, true }},
	{name: "Create DateTime UTC", kind: kindDateTime, ts: func(g *gift) (time.Time, bool) { return g.created, true }},
	{name: "Last Modified DateTime UTC", kind: kindDateTime, ts: func(g *gift) (time.Time, bool) { return g.modified, true }},
	{name: "Gift Type", kind: kindList, str: func(g *gift) string { return g.giftType }},
	{name: "Gift Date", kind: kindDate, day: func(g *gift) (int64, bool) { return epochDay(g.date), true }},
	{name: "Receipt Date", kind: kindDate, day: func(g *gift) (int64, bool) {
		return epochDay(g.receiptDate), !g.receiptDate.IsZero()
	}},
	{name: "Amount", kind: kindDecimal, num: func(g *gift) (int64, bool) { return toScale(g.amount, g.currency), true }},
	{name: "Currency Code", kind: kindString, str: func(g *gift) string { return g.currency }},
	{name: "Batch", kind: kindString, str: func(g *gift) string { return g.batch }},
	{name: "Notes", kind: kindString, str: func(g *gift) string { return g.notes }},
	{name: "Segment Code", kind: kindString, str: func(g *gift) string { return g.segmentCode }},
	{name: "Passthrough Contact Id", kind: kindInt, num: func(g *gift) (int64, bool) {
		return g.contactPassthrough, g.contactPassthrough != 0
	}},
}

// giftFieldsWithOrg adds the parameters that need the org's other tables.
func (o *Org) giftFieldsWithOrg() []field[gift] {
	return append(slices.Clip(giftFields),
		field[gift]{name: "Project Code", kind: kindString, strs: func(g *gift, b []string) []string {
			for _, d := range g.designations {
				if p := o.projectByID[d.projectID]; p != nil {
					b = append(b, p.code)
				}
			}
			return b
		}},
		field[gift]{name: "Project Name", kind: kindString, strs: func(g *gift, b []string) []string {
			for _, d := range g.designations {
				if p := o.projectByID[d.projectID]; p != nil {
					b = append(b, p.name)
				}
			}
			return b
		}},
		field[gift]{name: "Contact Name", kind: kindString, strs: func(g *gift, b []string) []string {
			if c := o.contactByID[g.contactID]; c != nil {
				b = append(b, c.name)
			}
			return b
		}},
	)
}

// contactFields are the Contact query parameters the simulator knows.
var contactFields = []field[contact]{
	{name: "Contact Id", kind: kindInt, num: func(c *contact) (int64, bool) { return c.id, true }},
	{name: "Create Date", kind: kindDate, day: func(c *contact) (int64, bool) { return c.createdDay, true }},
	{name: "Last Modified Date", kind: kindDate, day: func(c *contact) (int64, bool) { return c.modifiedDay, true }},
	{name: "Create DateTime UTC", kind: kindDateTime, ts: func(c *contact) (time.Time, bool) { return c.created, true }},
	{name: "Last Modified DateTime UTC", kind: kindDateTime, ts: func(c *contact) (time.Time, bool) { return c.modified, true }},
	{name: "Reference Source", kind: kindString, strs: func(c *contact, b []string) []string {
		for _, r := range c.references {
			b = append(b, r.source)
		}
		return b
	}},
	{name: "Reference Id", kind: kindString, strs: func(c *contact, b []string) []string {
		for _, r := range c.references {
			b = append(b, r.id)
		}
		return b
	}},
	{name: "Email", kind: kindString, str: func(c *contact) string { return c.email }},
	{name: "Contact Name", kind: kindString, str: func(c *contact) string { return c.name }},
	{name: "First Name", kind: kindString, str: func(c *contact) string { return c.firstName }},
	{name: "Last Name", kind: kindString, str: func(c *contact) string { return c.lastName }},
	{name: "Contact Type", kind: kindList, str: func(c *contact) string { return c.contactType }},
	{name: "Merged Into Contact Id", kind: kindInt, num: func(c *contact) (int64, bool) { return c.mergedInto, c.mergedInto != 0 }},
}

type sortKey int

const (
	sortID sortKey = iota
	sortGiftDate
	sortModified
	sortCreated
	sortAmount
	sortBatch
	sortContactID
	sortName
	sortReceiptDate
)

func squash(s string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "_", "", "-", "").Replace(s))
}

// giftSortKey accepts the spellings seen in the wild ("Gift Date",
// "giftDate", "GiftDate", "Create DateTime UTC" …).
func giftSortKey(s string) (sortKey, bool) {
	switch squash(s) {
	case "", "id", "giftid":
		return sortID, true
	case "giftdate", "date":
		return sortGiftDate, true
	case "lastmodifieddate", "lastmodifieddatetimeutc", "modifieddatetimeutc", "modifieddate", "modifieddatetime":
		return sortModified, true
	case "createdate", "createdatetimeutc", "createddatetime", "createddatetimeutc", "createdate utc", "createddate":
		return sortCreated, true
	case "amount":
		return sortAmount, true
	case "batch":
		return sortBatch, true
	case "contactid":
		return sortContactID, true
	case "receiptdate":
		return sortReceiptDate, true
	}
	return 0, false
}

func contactSortKey(s string) (sortKey, bool) {
	switch squash(s) {
	case "", "id", "contactid":
		return sortID, true
	case "lastmodifieddate", "lastmodifieddatetimeutc", "modifieddatetimeutc", "modifieddate":
		return sortModified, true
	case "createdate", "createdatetimeutc", "createddatetime", "createddatetimeutc":
		return sortCreated, true
	case "name", "contactname", "lastname":
		return sortName, true
	}
	return 0, false
}

// sortGifts orders gifts by key, ties by id, so paging is stable.
func sortGifts(list []*gift, key sortKey, desc bool) {
	cmp := func(a, b *gift) int {
		var c int
		switch key {
		case sortGiftDate:
			c = a.date.Compare(b.date)
		case sortModified:
			c = a.modified.Compare(b.modified)
		case sortCreated:
			c = a.created.Compare(b.created)
		case sortAmount:
			c = compareInt(toScale(a.amount, a.currency), toScale(b.amount, b.currency))
		case sortBatch:
			c = strings.Compare(a.batch, b.batch)
		case sortContactID:
			c = compareInt(a.contactID, b.contactID)
		case sortReceiptDate:
			c = a.receiptDate.Compare(b.receiptDate)
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = compareInt(a.id, b.id)
			if desc && key == sortID {
				c = -c
			}
		}
		return c
	}
	slices.SortStableFunc(list, cmp)
}

func sortContacts(list []*contact, key sortKey, desc bool) {
	slices.SortStableFunc(list, func(a, b *contact) int {
		var c int
		switch key {
		case sortModified:
			c = a.modified.Compare(b.modified)
		case sortCreated:
			c = a.created.Compare(b.created)
		case sortName:
			c = strings.Compare(strings.ToLower(a.name), strings.ToLower(b.name))
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = compareInt(a.id, b.id)
			if desc && key == sortID {
				c = -c
			}
		}
		return c
	})
}
