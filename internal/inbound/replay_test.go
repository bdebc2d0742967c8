package inbound_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/dbtest"
	"backstop/internal/inbound"
	"backstop/internal/money"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/internal/virtuous"
	"backstop/internal/virtuoussim"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var fixed = time.Date(2026, 11, 5, 12, 0, 0, 0, time.UTC)

// replayShuffles is how many shuffled replays the replay test compares
// with delivery once in order; make test-faults raises it
// (replay_faults_test.go).
var replayShuffles uint64 = 4

const (
	nGifts    = 24
	nContacts = 4
)

func giftIntake(n int) string {
	email := fmt.Sprintf("donor%d@example.org", n%10) // some donors give twice
	return fmt.Sprintf(`{"source":"stripe","source_ref":"pi_%014d","transaction":{"contact":{"firstname":"Donor","lastname":"%d","email":%q},
		"giftDate":"2026-11-01","giftType":"Credit","amount":"%d.50","currencyCode":"USD","designations":[{"code":"FOOD","amountDesignated":"%d.50"}]}}`, n, n%10, email, 10+n, 10+n)
}

func contactIntake(n int) string {
	return fmt.Sprintf(`{"source":"other","source_ref":"crm-%d","transaction":{"firstName":"Member","lastName":"%d","email":"member%d@example.org"}}`, n, n, n)
}

// seed makes one database's starting state: every record submitted, by a
// fixed clock, in a fixed order, so two databases seeded alike are alike.
func seed(t *testing.T) (*store.Store, *tenant.Tenant, [][]byte) {
	t.Helper()
	s := dbtest.Store(t)
	ctx := context.Background()
	tn := &tenant.Tenant{Slug: "acme", Name: "Acme", VirtuousBaseURL: "http://x", VirtuousKeyEnc: []byte("k"), WebhookTokenEnc: []byte("w"), IntakeTokenHash: []byte("h")}
	id, err := s.CreateTenant(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	tn, _ = s.TenantByID(ctx, id)
	var payloads [][]byte
	add := func(kind record.Kind, pid, body string) {
		p, err := record.ParseIntake(kind, pid, []byte(body), record.Defaults{TransactionSource: tn.TransactionSource})
		if err != nil {
			t.Fatal(err)
		}
		payloads = append(payloads, p.Payload)
		rid, err := s.InsertRecord(ctx, s.DB(), &record.Record{TenantID: tn.ID, Kind: kind, PlatformID: pid, Source: p.Source, SourceRef: p.SourceRef,
			SourceMeta: p.SourceMeta, ExtSource: p.ExtSource, ExtID: p.ExtID, Status: record.Pending, Payload: p.Payload, PayloadSHA: p.PayloadSHA,
			DonorName: p.DonorName, DonorEmail: p.DonorEmail, AmountMinor: p.Amount, Currency: p.Currency, GiftDate: p.GiftDate, CreatedAt: fixed})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Transition(ctx, s.DB(), store.Transition{TenantID: tn.ID, RecordID: rid, From: []record.Status{record.Pending},
			To: record.Submitted, At: fixed, Set: store.Columns{SubmittedAt: &fixed}, Audit: audit.Entry{Actor: "test", Action: "submit.accepted"}}); err != nil {
			t.Fatal(err)
		}
	}
	for n := 1; n <= nGifts; n++ {
		add(record.Gift, fmt.Sprintf("g%d", n), giftIntake(n))
	}
	for n := 1; n <= nContacts; n++ {
		add(record.Contact, fmt.Sprintf("c%d", n), contactIntake(n))
	}
	return s, tn, payloads
}

// events has the simulator produce a realistic stream of webhooks for the
// seeded records: creations from the batch, edits in the Virtuous UI, a
// deletion, a merge and a gift entered directly in Virtuous.
func events(t *testing.T, payloads [][]byte) [][]byte {
	t.Helper()
	var mu sync.Mutex
	var got [][]byte
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	}))
	defer capture.Close()
	clock := virtuoussim.NewManualClock(fixed.Add(-48 * time.Hour))
	sim := virtuoussim.New(virtuoussim.Options{Clock: clock, WebhookWorkers: 1, Seed: 3})
	defer sim.Close()
	org := sim.AddOrg("acme", "key")
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	org.Subscribe(capture.URL, "", "")
	cl, err := virtuous.New(virtuous.Config{BaseURL: url, APIKey: "key"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, p := range payloads {
		if i < nGifts {
			err = cl.SubmitGift(ctx, p)
		} else {
			err = cl.SubmitContact(ctx, p)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Hour)
	org.RunBatch()
	sim.WaitIdle(ctx)
	gifts := org.Gifts()
	step := func() { clock.Advance(time.Minute); sim.WaitIdle(ctx) }
	amount := money.Decimal("99.00")
	for _, g := range gifts[:3] {
		step()
		if err := org.EditGift(g.ID, virtuoussim.GiftEdit{Amount: &amount}); err != nil {
			t.Fatal(err)
		}
	}
	step()
	// The same gift edited twice: two versions of one object.
	newType := "Cash"
	org.EditGift(gifts[0].ID, virtuoussim.GiftEdit{GiftType: &newType})
	contacts := org.Contacts()
	for _, c := range contacts[:2] {
		step()
		email := fmt.Sprintf("changed%d@example.org", c.ID)
		org.EditContact(c.ID, virtuoussim.ContactEdit{Email: &email})
	}
	step()
	org.DeleteGift(gifts[5].ID)
	step()
	org.MergeContacts(contacts[2].ID, contacts[3].ID)
	step()
	if _, err := org.CreateGiftDirect(virtuoussim.DirectGift{FirstName: "Walk", LastName: "In", Email: "walkin@example.org",
		Amount: "5.00", CurrencyCode: "USD", GiftDate: "2026-11-03", GiftType: "Cash"}); err != nil {
		t.Fatal(err)
	}
	sim.WaitIdle(ctx)
	mu.Lock()
	defer mu.Unlock()
	return got
}

func apply(t *testing.T, s *store.Store, tn *tenant.Tenant, bodies [][]byte) {
	t.Helper()
	h := &inbound.Handler{Store: s, Now: func() time.Time { return fixed }}
	ctx := context.Background()
	for _, b := range bodies {
		err := s.InTx(ctx, func(tx *sqlx.Tx) error {
			_, err := h.ApplyWebhook(ctx, tx, tn.ID, b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// dump is every row that the handler writes, without surrogate keys and the
// feed's commit-order column.
func dump(t *testing.T, s *store.Store) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, q := range map[string]string{
		"records":           `SELECT to_jsonb(r)::text FROM records r ORDER BY id`,
		"audit_log":         `SELECT (to_jsonb(a) - 'id')::text FROM audit_log a ORDER BY 1`,
		"conflicts":         `SELECT (to_jsonb(c) - 'id')::text FROM conflicts c ORDER BY 1`,
		"changes":           `SELECT (to_jsonb(c) - 'id' - 'txid')::text FROM changes c ORDER BY 1`,
		"virtuous_contacts": `SELECT to_jsonb(v)::text FROM virtuous_contacts v ORDER BY 1`,
	} {
		var rows []string
		if err := s.DB().Select(&rows, q); err != nil {
			t.Fatal(err)
		}
		out[name] = rows
	}
	return out
}

// The spec's replay test (Category 3): every webhook applied twice, and in
// shuffled order, leaves byte-identical record, conflict and audit state to
// each applied once in order.
func TestReplayTwiceShuffledIsIdentical(t *testing.T) {
	t.Parallel()
	sA, tA, payloads := seed(t)
	stream := events(t, payloads)
	if len(stream) < nGifts+5 {
		t.Fatalf("got %d events from the simulator, want at least %d", len(stream), nGifts+5)
	}
	apply(t, sA, tA, stream)
	a := dump(t, sA)

	var replay [][]byte
	for shuffle := range replayShuffles {
		sB, tB, _ := seed(t)
		rng := rand.New(rand.NewPCG(shuffle, 2))
		replay = replay[:0]
		for _, b := range stream {
			for range 2 + rng.IntN(2) {
				replay = append(replay, b)
			}
		}
		rng.Shuffle(len(replay), func(i, j int) { replay[i], replay[j] = replay[j], replay[i] })
		apply(t, sB, tB, replay)
		b := dump(t, sB)
		for _, table := range []string{"records", "audit_log", "conflicts", "changes", "virtuous_contacts"} {
			if diff := cmp.Diff(a[table], b[table]); diff != "" {
				t.Errorf("shuffle %d: %s differs between once-in-order and twice-shuffled (-once +replayed):\n%s", shuffle, table, diff)
			}
		}
	}
	st := map[string]int{}
	for _, r := range a["records"] {
		for _, s := range record.Statuses {
			if strings.Contains(r, `"status": "`+string(s)+`"`) {
				st[string(s)]++
			}
		}
	}
	t.Logf("%d events, %d replayed; final statuses %v; %d audit rows, %d feed rows", len(stream), len(replay), st, len(a["audit_log"]), len(a["changes"]))
	if st["confirmed"] != nGifts+nContacts {
		t.Errorf("got %v, want all %d records confirmed", st, nGifts+nContacts)
	}
}

// Applying the same event a second time changes nothing at all.
func TestReplaySameEventTwice(t *testing.T) {
	t.Parallel()
	s, tn, payloads := seed(t)
	stream := events(t, payloads)
	apply(t, s, tn, stream)
	before := dump(t, s)
	apply(t, s, tn, stream)
	if diff := cmp.Diff(before, dump(t, s)); diff != "" {
		t.Errorf("second application changed state (-first +second):\n%s", diff)
	}
}
