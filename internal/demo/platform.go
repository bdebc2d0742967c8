package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"backstop/internal/money"
	"backstop/internal/virtuoussim"
)

// platform is the partner platform: it PUTs records through Backstop's
// intake API, as a real integration would.
type platform struct {
	base  string
	token string
	d     demoTenant
	rng   *rand.Rand
	log   *slog.Logger
	n     int
}

func (p *platform) run(ctx context.Context, every time.Duration) {
	client := &http.Client{Timeout: 10 * time.Second}
	for {
		// Jitter the pace so the two tenants do not march in step.
		wait := every/2 + time.Duration(p.rng.Int64N(int64(every)))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		p.n++
		kind, id, body := p.next(time.Now().UTC())
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, p.base+"/api/v1/records/"+kind+"/"+id, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+p.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("demo platform", slog.Any("error", err))
			}
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 {
			p.log.Warn("demo platform: record refused", slog.String("id", id), slog.Int("status", resp.StatusCode))
		}
	}
}

// next makes the platform's next record, given or signed up at at: mostly
// gifts, now and then a newsletter sign-up as a contact.
func (p *platform) next(at time.Time) (kind, id string, body []byte) {
	r := p.rng
	who := newPerson(r, r.IntN(100) < 3)
	if p.n%9 == 0 {
		ref := fmt.Sprintf("signup-%d-%d", at.Unix(), p.n)
		b, _ := json.Marshal(map[string]any{"source": "other", "source_ref": ref, "transaction": map[string]any{
			"contactType": "Household", "firstName": who.First, "lastName": who.Last, "email": who.Email, "phone": who.Phone,
			"address1": who.Address1, "city": who.City, "state": who.State, "postal": who.Postal, "country": "US",
		}})
		return "contact", ref, b
	}
	contact := map[string]any{"firstname": who.First, "lastname": who.Last, "email": who.Email, "phone": who.Phone,
		"address": map[string]string{"address1": who.Address1, "city": who.City, "state": who.State, "postal": who.Postal, "country": "US"}}
	txn := map[string]any{"contact": contact, "giftDate": at.Format("2006-01-02"), "giftType": "Credit", "currencyCode": "USD"}
	env := map[string]any{"transaction": txn}
	if p.d.source == "stripe" {
		ref := stripeID(r)
		cents := donation(r)
		food := cents * 3 / 5
		txn["amount"] = money.Format(cents, "USD")
		txn["designations"] = []map[string]string{
			{"code": "FOOD", "name": "Food programs", "amountDesignated": money.Format(food, "USD")},
			{"code": "SHELTER", "name": "Emergency shelter", "amountDesignated": money.Format(cents-food, "USD")},
		}
		txn["notes"] = "Stripe " + ref
		env["source"], env["source_ref"], env["livemode"] = "stripe", ref, false
		id = "don_" + ref[3:]
	} else {
		order := eventbriteOrder(r)
		cents := tickets(r)
		txn["amount"] = money.Format(cents, "USD")
		txn["designations"] = []map[string]string{{"code": "TICKETS", "name": "Ticket sales", "amountDesignated": money.Format(cents, "USD")}}
		txn["notes"] = "Eventbrite order " + order + " — " + shows[r.IntN(len(shows))]
		env["source"], env["source_ref"], env["event_id"] = "eventbrite", order, fmt.Sprintf("2308665%05d", r.IntN(100000))
		id = "ord_" + order
	}
	b, _ := json.Marshal(env)
	return "gift", id, b
}

// virtuousUsers are the customer's staff editing records in Virtuous: a gift
// amount corrected here, a donor's email updated there — drift for the
// reconciliation engine to find.
func virtuousUsers(ctx context.Context, org *virtuoussim.Org, r *rand.Rand, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(15*time.Second + time.Duration(r.Int64N(int64(15*time.Second)))):
		}
		gifts := org.Gifts()
		if len(gifts) == 0 {
			continue
		}
		g := gifts[r.IntN(len(gifts))]
		var err error
		switch {
		case r.IntN(2) == 0 && len(g.Designations) <= 1:
			amount := money.Decimal(money.Format(g.AmountMinor+500, g.Currency))
			err = org.EditGift(g.ID, virtuoussim.GiftEdit{Amount: &amount})
		case r.IntN(2) == 0:
			d, _ := time.Parse("2006-01-02", g.GiftDate)
			date := d.AddDate(0, 0, -1).Format("2006-01-02")
			err = org.EditGift(g.ID, virtuoussim.GiftEdit{GiftDate: &date})
		default:
			email := fmt.Sprintf("updated%d@example.org", r.IntN(10000))
			err = org.EditContact(g.ContactID, virtuoussim.ContactEdit{Email: &email})
		}
		if err != nil {
			log.Debug("demo: virtuous user edit", slog.Any("error", err))
		}
	}
}
