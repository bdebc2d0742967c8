package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"backstop/internal/dbtest"
	"backstop/internal/record"
	"backstop/internal/store"
)

// queueFixture puts 23 records in needs_review: gifts with amounts and gift
// dates that repeat (ties broken by id) and contacts with neither.
func queueFixture(t *testing.T, s *store.Store, tenantID int64) []*record.Record {
	t.Helper()
	base := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	var out []*record.Record
	for i := 0; i < 23; i++ {
		kind := record.Gift
		var amount *int64
		var date *time.Time
		cur := "USD"
		if i%4 == 3 {
			kind = record.Contact
		} else {
			a := int64(1000 * (i % 5))
			if a == 0 {
				a = 250
			}
			d := base.AddDate(0, 0, i%3)
			amount, date = &a, &d
		}
		payload := json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))
		sum := sha256.Sum256(payload)
		r := &record.Record{
			TenantID: tenantID, Kind: kind, PlatformID: fmt.Sprintf("p-%02d", i), Source: record.Other,
			SourceRef: fmt.Sprintf("ref-%02d", i), ExtSource: "S", ExtID: fmt.Sprintf("ref-%02d", i),
			Status: record.NeedsReview, Payload: payload, PayloadSHA: sum[:], DonorName: fmt.Sprintf("Donor %02d", i),
			AmountMinor: amount, Currency: &cur, GiftDate: date,
			// Ages repeat too, so the id breaks ties in the default order.
			CreatedAt: base.Add(time.Duration(i%7) * time.Hour),
		}
		id, err := s.InsertRecord(context.Background(), s.DB(), r)
		if err != nil {
			t.Fatal(err)
		}
		r.ID = id
		r.AgeAt = r.CreatedAt
		out = append(out, r)
	}
	return out
}

// expectedOrder sorts rows as the queue should: ascending puts rows without
// a value last, descending first; ties by id in the same direction.
func expectedOrder(rows []*record.Record, by store.QueueSort) []int64 {
	rs := append([]*record.Record(nil), rows...)
	key := func(r *record.Record) (int64, bool) {
		switch by {
		case store.SortAmountAsc, store.SortAmountDesc:
			if r.AmountMinor == nil {
				return 0, false
			}
			return *r.AmountMinor, true
		case store.SortDateAsc, store.SortDateDesc:
			if r.GiftDate == nil {
				return 0, false
			}
			return r.GiftDate.Unix(), true
		}
		return r.AgeAt.UnixMicro(), true
	}
	desc := by == store.SortNewest || by == store.SortAmountDesc || by == store.SortDateDesc
	sort.Slice(rs, func(i, j int) bool {
		a, aok := key(rs[i])
		b, bok := key(rs[j])
		less := func() bool {
			switch {
			case aok != bok:
				return aok // values before no values, ascending
			case a != b:
				return a < b
			}
			return rs[i].ID < rs[j].ID
		}
		if desc {
			return !less() && !(a == b && aok == bok && rs[i].ID == rs[j].ID)
		}
		return less()
	})
	return ids(rs)
}

func TestQueueKeysetEveryOrder(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	tn := newTenant(t, s, "acme")
	rows := queueFixture(t, s, tn.ID)
	ctx := context.Background()
	for _, by := range store.QueueSorts {
		t.Run(string(by), func(t *testing.T) {
			want := expectedOrder(rows, by)
			q := store.QueueQuery{TenantID: tn.ID, Status: record.NeedsReview, Sort: by, Limit: 5}
			var got []int64
			var pages []*store.QueuePage
			for {
				p, err := s.Queue(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				pages = append(pages, p)
				for _, r := range p.Rows {
					got = append(got, r.ID)
				}
				if p.Next == nil {
					break
				}
				// Round-trip the cursor as a URL would.
				c, err := store.ParseQueueCursor(p.Next.String())
				if err != nil {
					t.Fatal(err)
				}
				q.After, q.Before = c, nil
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("forward pages:\n got %v\nwant %v", got, want)
			}
			if len(pages) != 5 || pages[0].Prev != nil {
				t.Errorf("got %d pages (first has prev: %v), want 5 and none before the first", len(pages), pages[0].Prev != nil)
			}
			// Walking back from the last page with Before gives the same pages.
			for i := len(pages) - 1; i > 0; i-- {
				q.After, q.Before = nil, pages[i].Prev
				p, err := s.Queue(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(ids(p.Rows)) != fmt.Sprint(ids(pages[i-1].Rows)) {
					t.Fatalf("back from page %d: got %v, want %v", i+1, ids(p.Rows), ids(pages[i-1].Rows))
				}
			}
		})
	}
}

func ids(rs []*record.Record) []int64 {
	out := make([]int64, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestQueueFilters(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	tn := newTenant(t, s, "acme")
	other := newTenant(t, s, "other")
	rows := queueFixture(t, s, tn.ID)
	queueFixture(t, s, other.ID)
	ctx := context.Background()
	count := func(q store.QueueQuery) int {
		t.Helper()
		q.TenantID, q.Status, q.Limit = tn.ID, record.NeedsReview, 500
		p, err := s.Queue(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Rows {
			if r.TenantID != tn.ID {
				t.Fatalf("row of tenant %d in tenant %d's queue", r.TenantID, tn.ID)
			}
		}
		return len(p.Rows)
	}
	i64 := func(n int64) *int64 { return &n }
	if n := count(store.QueueQuery{}); n != len(rows) {
		t.Errorf("all: got %d, want %d", n, len(rows))
	}
	if n := count(store.QueueQuery{AmountMin: i64(2000), AmountMax: i64(3000)}); n != 7 {
		t.Errorf("amount 20–30: got %d, want 7", n)
	}
	cut := rows[0].AgeAt.Add(3 * time.Hour)
	if a, b := count(store.QueueQuery{AgeBefore: &cut}), count(store.QueueQuery{AgeFrom: &cut}); a+b != len(rows) || a == 0 || b == 0 {
		t.Errorf("age split: got %d older + %d newer, want %d in all", a, b, len(rows))
	}
	if n := count(store.QueueQuery{Search: "DONOR 1"}); n != 10 {
		t.Errorf("search \"DONOR 1\": got %d, want 10 (Donor 10–19)", n)
	}
	if n := count(store.QueueQuery{Search: "ref-0_"}); n != 0 {
		t.Errorf("search with _ matched %d rows; _ must match only itself", n)
	}
	if n := count(store.QueueQuery{Source: record.Stripe}); n != 0 {
		t.Errorf("source stripe: got %d, want 0", n)
	}
	diffs, err := s.OpenConflictDiffs(ctx, tn.ID, []int64{rows[0].ID})
	if err != nil || len(diffs) != 0 {
		t.Errorf("conflict diffs of records without conflicts: got %v, %v", diffs, err)
	}
}

// A queue of 200,000 is not counted to draw a tab: counts stop just past
// QueueCountCap; small queues are exact.
func TestQueueCountsCapped(t *testing.T) {
	t.Parallel()
	s := dbtest.Store(t)
	tn := newTenant(t, s, "acme")
	other := newTenant(t, s, "other")
	_, err := s.DB().Exec(`
		INSERT INTO records (tenant_id, kind, platform_id, source, source_ref, ext_source, ext_id, status, payload,
		                     payload_sha, created_at, platform_updated_at, updated_at)
		SELECT $1, 'gift', 'p' || g, 'other', 'r' || g, 'S', 'r' || g,
		       CASE WHEN g <= 2 THEN 'failed' ELSE 'needs_review' END, '{}', '\x00', now(), now(), now()
		FROM generate_series(1, $2::int + 3) g`, tn.ID, store.QueueCountCap)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.QueueCounts(context.Background(), []int64{tn.ID, other.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got[tn.ID][record.NeedsReview] != store.QueueCountCap+1 || got[tn.ID][record.Failed] != 2 || got[tn.ID][record.Conflict] != 0 {
		t.Errorf("got %v, want needs_review capped at %d, failed 2, conflict 0", got[tn.ID], store.QueueCountCap+1)
	}
	if len(got[other.ID]) != 3 || got[other.ID][record.NeedsReview] != 0 {
		t.Errorf("other tenant: got %v, want zeros", got[other.ID])
	}
}
