// Package links builds the addresses people follow from a record: the
// payment or order at Stripe or Eventbrite, and the gift, contact or Import
// tool in the Virtuous web app. It only builds strings; views render them.
package links

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	"backstop/internal/record"
)

// Link is a labelled external address.
type Link struct {
	Label string
	URL   string
}

// Meta is what a record's source_meta holds for links.
type Meta struct {
	Livemode *bool  `json:"livemode,omitempty"` // Stripe: false for a test-mode object
	EventID  string `json:"event_id,omitempty"` // Eventbrite: the order's event
}

// ParseMeta reads source_meta; anything unreadable is no metadata.
func ParseMeta(raw []byte) Meta {
	var m Meta
	if len(raw) > 0 {
		json.Unmarshal(raw, &m)
	}
	return m
}

// Stripe is the dashboard page of a Stripe object: payments for
// payment intents, charges and payments (pi_, ch_, py_), invoices (in_),
// customers (cus_). Test-mode objects live under /test/. An id of another
// shape gets no link.
func Stripe(id string, livemode *bool) string {
	var kind string
	switch {
	case strings.HasPrefix(id, "pi_"), strings.HasPrefix(id, "ch_"), strings.HasPrefix(id, "py_"):
		kind = "payments"
	case strings.HasPrefix(id, "in_"):
		kind = "invoices"
	case strings.HasPrefix(id, "cus_"):
		kind = "customers"
	default:
		return ""
	}
	base := "https://dashboard.stripe.com/"
	if livemode != nil && !*livemode {
		base += "test/"
	}
	return base + kind + "/" + url.PathEscape(id)
}

// EventbriteOrder is the organizer's page of an order.
func EventbriteOrder(orderID string) string {
	return "https://www.eventbrite.com/organizations/orders/" + url.PathEscape(orderID)
}

// EventbriteEvent is the organizer's page of an event.
func EventbriteEvent(eventID string) string {
	return "https://www.eventbrite.com/myevent?eid=" + url.QueryEscape(eventID)
}

// Source returns the links of a record's reference at its source, in the
// order to show them (none for source "other").
func Source(r *record.Record) []Link {
	m := ParseMeta(r.SourceMeta)
	switch r.Source {
	case record.Stripe:
		if u := Stripe(r.SourceRef, m.Livemode); u != "" {
			label := "Open in Stripe"
			if m.Livemode != nil && !*m.Livemode {
				label = "Open in Stripe (test mode)"
			}
			return []Link{{label, u}}
		}
	case record.Eventbrite:
		out := []Link{{"Open the order in Eventbrite", EventbriteOrder(r.SourceRef)}}
		if m.EventID != "" {
			out = append(out, Link{"Open the event", EventbriteEvent(m.EventID)})
		}
		return out
	}
	return nil
}

// VirtuousGift is a gift's page in the Virtuous web app.
func VirtuousGift(appURL string, id int64) string {
	return strings.TrimRight(appURL, "/") + "/Generosity/Gift/View/" + strconv.FormatInt(id, 10)
}

// VirtuousContact is a contact's page in the Virtuous web app.
func VirtuousContact(appURL string, id int64) string {
	return strings.TrimRight(appURL, "/") + "/Generosity/Contact/View/" + strconv.FormatInt(id, 10)
}

// VirtuousImportTool is the Gift and Contact Import Tool, where an admin
// resolves the Match Needed / Update Needed buckets.
// UNCONFIRMED: virtuous-api.md found no public source for this URL; the
// README asks to confirm it against a sandbox organization.
func VirtuousImportTool(appURL string) string {
	return strings.TrimRight(appURL, "/") + "/Generosity/Import"
}

// Virtuous returns the Virtuous links of a record: its gift and contact
// once their ids are known, and the Import tool while Virtuous has not
// created it.
func Virtuous(appURL string, r *record.Record) []Link {
	var out []Link
	if r.VirtuousID != nil {
		if r.Kind == record.Gift {
			out = append(out, Link{"Open the gift in Virtuous", VirtuousGift(appURL, *r.VirtuousID)})
		} else {
			out = append(out, Link{"Open the contact in Virtuous", VirtuousContact(appURL, *r.VirtuousID)})
		}
	}
	if r.VirtuousContactID != nil && r.Kind == record.Gift {
		out = append(out, Link{"Open the donor in Virtuous", VirtuousContact(appURL, *r.VirtuousContactID)})
	}
	if r.VirtuousID == nil && (r.Status == record.NeedsReview || r.Status == record.Submitted) {
		out = append(out, Link{"Open in Virtuous Import tool", VirtuousImportTool(appURL)})
	}
	return out
}
