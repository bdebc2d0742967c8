package virtuous

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"backstop/internal/derrors"
)

// pagingServer serves total gifts with ids 1..total from the FullGift and
// FullContact queries, at most maxPage per page whatever take asks for;
// claimTotal, when set, is reported as the total instead.
func pagingServer(t *testing.T, total, maxPage, claimTotal int) (*Client, *recorder) {
	t.Helper()
	srv, rec := serve(t, func(w http.ResponseWriter, r *http.Request, _ int) {
		skip, _ := strconv.Atoi(r.URL.Query().Get("skip"))
		take, _ := strconv.Atoi(r.URL.Query().Get("take"))
		var list []map[string]any
		for id := skip + 1; id <= min(skip+min(take, maxPage), total); id++ {
			list = append(list, map[string]any{"id": id, "amount": "1.00"})
		}
		reported := total
		if claimTotal > 0 {
			reported = claimTotal
		}
		json.NewEncoder(w).Encode(map[string]any{"list": list, "total": reported})
	})
	return newClient(t, srv.URL), rec
}

func TestEachGiftPageReadsEverything(t *testing.T) {
	t.Parallel()
	c, rec := pagingServer(t, 2500, 1000, 0)
	var skips []int
	seen := map[int64]bool{}
	err := c.EachGiftPage(testCtx(t), Query{}, 0, 1000, func(p *Page[Gift], skip int) error {
		skips = append(skips, skip)
		for _, g := range p.List {
			if seen[g.ID] {
				t.Errorf("gift %d seen twice", g.ID)
			}
			seen[g.ID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]int{0, 1000, 2000}, skips); d != "" {
		t.Errorf("skips (-want +got):\n%s", d)
	}
	if len(seen) != 2500 || rec.count() != 3 {
		t.Errorf("got %d gifts in %d requests, want 2500 in 3", len(seen), rec.count())
	}
}

func TestEachGiftPageResumes(t *testing.T) {
	t.Parallel()
	c, rec := pagingServer(t, 2500, 1000, 0)
	var first int64
	var skips []int
	err := c.EachGiftPage(testCtx(t), Query{}, 2000, 1000, func(p *Page[Gift], skip int) error {
		skips = append(skips, skip)
		if first == 0 {
			first = p.List[0].ID
		}
		return nil
	})
	if err != nil || first != 2001 || len(skips) != 1 || skips[0] != 2000 || rec.count() != 1 {
		t.Errorf("got err %v, first gift %d, skips %v, %d requests; want one page from gift 2001", err, first, skips, rec.count())
	}
	if got := rec.requests()[0].URI; got != "/api/Gift/Query/FullGift?skip=2000&take=1000" {
		t.Errorf("got %s, want skip=2000&take=1000", got)
	}
}

func TestEachPageAdvancesByWhatCame(t *testing.T) {
	t.Parallel()
	// The server serves 300 per page although 1000 were asked for.
	c, _ := pagingServer(t, 1000, 300, 0)
	var skips []int
	n := 0
	err := c.EachGiftPage(testCtx(t), Query{}, 0, 1000, func(p *Page[Gift], skip int) error {
		skips = append(skips, skip)
		n += len(p.List)
		return nil
	})
	if err != nil || n != 1000 {
		t.Fatalf("got %d gifts (%v), want 1000", n, err)
	}
	if d := cmp.Diff([]int{0, 300, 600, 900}, skips); d != "" {
		t.Errorf("skips (-want +got):\n%s", d)
	}
}

func TestEachPageStopsOnEmptyPage(t *testing.T) {
	t.Parallel()
	// The total claims more than exists: an empty page must end the loop.
	c, rec := pagingServer(t, 150, 100, 5000)
	pages := 0
	err := c.EachContactPage(testCtx(t), Query{}, 0, 100, func(p *Page[Contact], _ int) error {
		pages++
		return nil
	})
	if err != nil || pages != 3 || rec.count() != 3 {
		t.Errorf("got %d pages in %d requests (%v), want 3 (100, 50, then empty)", pages, rec.count(), err)
	}
}

func TestEachPageEmptyResult(t *testing.T) {
	t.Parallel()
	c, rec := pagingServer(t, 0, 1000, 0)
	calls := 0
	err := c.EachGiftPage(testCtx(t), Query{}, 0, 1000, func(p *Page[Gift], skip int) error {
		calls++
		if len(p.List) != 0 || p.Total != 0 || skip != 0 {
			t.Errorf("got page %+v at %d, want an empty one at 0", p, skip)
		}
		return nil
	})
	if err != nil || calls != 1 || rec.count() != 1 {
		t.Errorf("got %d calls, %d requests (%v), want 1 and 1", calls, rec.count(), err)
	}
}

func TestEachPageStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	c, rec := pagingServer(t, 5000, 1000, 0)
	stop := errors.New("disk full")
	err := c.EachGiftPage(testCtx(t), Query{}, 0, 1000, func(_ *Page[Gift], skip int) error {
		if skip == 1000 {
			return fmt.Errorf("saving page: %w", stop)
		}
		return nil
	})
	if !errors.Is(err, stop) || rec.count() != 2 {
		t.Errorf("got %v after %d requests, want the callback's error after 2", err, rec.count())
	}
}

func TestEachPageStopsOnQueryError(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(400, `{"error":"BadRequest","error_description":"Unknown parameter"}`))
	c := newClient(t, srv.URL)
	err := c.EachGiftPage(testCtx(t), Query{}, 0, 10, func(*Page[Gift], int) error {
		t.Error("callback called for a failed query")
		return nil
	})
	if !errors.Is(err, derrors.InvalidArgument) || rec.count() != 1 {
		t.Errorf("got %v after %d requests, want the 400 after 1", err, rec.count())
	}
}

func TestPageBoundsRefusedBeforeSending(t *testing.T) {
	t.Parallel()
	srv, rec := serve(t, respond(200, `{"list":[],"total":0}`))
	c := newClient(t, srv.URL)
	ctx := testCtx(t)
	for _, st := range [][2]int{{0, MaxTake + 1}, {0, 0}, {0, -5}, {-1, 10}} {
		if _, err := c.QueryGifts(ctx, Query{}, st[0], st[1]); !errors.Is(err, derrors.InvalidArgument) {
			t.Errorf("QueryGifts skip=%d take=%d: got %v, want InvalidArgument", st[0], st[1], err)
		}
		if _, err := c.QueryContacts(ctx, Query{}, st[0], st[1]); !errors.Is(err, derrors.InvalidArgument) {
			t.Errorf("QueryContacts skip=%d take=%d: got %v, want InvalidArgument", st[0], st[1], err)
		}
		err := c.EachGiftPage(ctx, Query{}, st[0], st[1], func(*Page[Gift], int) error { return nil })
		if !errors.Is(err, derrors.InvalidArgument) {
			t.Errorf("EachGiftPage skip=%d take=%d: got %v, want InvalidArgument", st[0], st[1], err)
		}
	}
	if rec.count() != 0 {
		t.Errorf("got %d requests, want none", rec.count())
	}
	if _, err := c.QueryGifts(ctx, Query{}, 0, MaxTake); err != nil {
		t.Errorf("take = MaxTake: got %v, want success", err)
	}
}

func TestQueryHelpers(t *testing.T) {
	t.Parallel()
	est := time.FixedZone("EST", -5*3600)
	got := ModifiedOnOrAfter(time.Date(2024, 6, 1, 23, 30, 0, 0, est))
	want := Condition{Parameter: "Last Modified Date", Operator: "OnOrAfter", Value: "2024-06-01"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ModifiedOnOrAfter: want the date in its own zone, no time of day (-want +got):\n%s", d)
	}
	groups := IDIn("Gift Id", []int64{7, 42})
	b, _ := json.Marshal(Query{Groups: groups})
	wantJSON := `{"groups":[{"conditions":[{"parameter":"Gift Id","operator":"Is","value":"7"}]},
		{"conditions":[{"parameter":"Gift Id","operator":"Is","value":"42"}]}],"descending":false}`
	if d := jsonDiff(t, b, []byte(wantJSON)); d != "" {
		t.Errorf("IDIn (-want +got):\n%s", d)
	}
	if g := IDIn("Gift Id", nil); len(g) != 0 {
		t.Errorf("no ids: got %v, want no groups", g)
	}
	nilConds, _ := json.Marshal(Query{Groups: []Group{{}}}.normalized())
	if string(nilConds) != `{"groups":[{"conditions":[]}],"descending":false}` {
		t.Errorf("got %s, want empty lists rather than null", nilConds)
	}
}

// TestEachPageFetchesAheadWhileFnWorks: the next page is requested while
// fn still works on the one before, and a page fn refuses stops the walk
// with the request in flight cancelled and finished (goleak checks that
// nothing is left running).
func TestEachPageFetchesAheadWhileFnWorks(t *testing.T) {
	t.Parallel()
	c, rec := pagingServer(t, 3000, 1000, 0)
	refused := errors.New("refused")
	var inFn []int
	err := c.EachGiftPage(testCtx(t), Query{}, 0, 1000, func(p *Page[Gift], skip int) error {
		// Wait until the next page has been asked for, or give up.
		for deadline := time.Now().Add(5 * time.Second); rec.count() < skip/1000+2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		inFn = append(inFn, rec.count())
		if skip == 1000 {
			return refused
		}
		return nil
	})
	if !errors.Is(err, refused) {
		t.Fatalf("got %v, want fn's error", err)
	}
	// On page 1 the second request had been made; on page 2, the third.
	if d := cmp.Diff([]int{2, 3}, inFn); d != "" {
		t.Errorf("requests made while fn worked on each page (-want +got):\n%s", d)
	}
	if got := rec.count(); got != 3 {
		t.Errorf("got %d requests, want 3: one page ahead, never more", got)
	}
}

// TestEachPageStopsAtTheLastPage: no request is made past the total.
func TestEachPageStopsAtTheLastPage(t *testing.T) {
	t.Parallel()
	c, rec := pagingServer(t, 2000, 1000, 0)
	var pages int
	err := c.EachGiftPage(testCtx(t), Query{}, 0, 1000, func(p *Page[Gift], skip int) error {
		pages++
		time.Sleep(20 * time.Millisecond) // time for a stray request to show
		return nil
	})
	if err != nil || pages != 2 || rec.count() != 2 {
		t.Errorf("got %d pages in %d requests (%v), want 2 in 2", pages, rec.count(), err)
	}
}
