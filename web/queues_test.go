package web_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"backstop/internal/apptest"
	"backstop/internal/record"
)

var nextRE = regexp.MustCompile(`href="([^"]+)" rel="next"`)
var prevRE = regexp.MustCompile(`href="([^"]+)" rel="prev"`)

func TestQueuePage(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	for i := 1; i <= 120; i++ {
		s := seed{n: i, status: record.NeedsReview, age: time.Duration(i) * time.Hour, amount: fmt.Sprintf("%d.00", i)}
		if i%10 == 0 {
			s.source = record.Eventbrite
		}
		d.put(s)
	}
	d.put(seed{n: 500, status: record.Failed})
	b := d.as(staffA)
	resp, body := b.get("/t/acme/queues/needs-review")
	if resp.StatusCode != 200 {
		t.Fatalf("got %d", resp.StatusCode)
	}
	for _, want := range []string{`Needs review<span class="count" aria-label="120 records">120</span>`, `aria-label="1 record">1</span>`, "Page 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("queue page lacks %q", want)
		}
	}
	// Oldest first by default, 50 a page, through the cursor to the end.
	seen := map[string]bool{}
	pageOf := func(body string) []string {
		var names []string
		for _, m := range regexp.MustCompile(`class="donor">([^<]+)<`).FindAllStringSubmatch(body, -1) {
			names = append(names, m[1])
			if seen[m[1]] {
				t.Errorf("%s on two pages", m[1])
			}
			seen[m[1]] = true
		}
		return names
	}
	p1 := pageOf(body)
	if len(p1) != 50 || p1[0] != "Donor Number 120" {
		t.Fatalf("page 1: got %d rows starting %v, want 50 oldest first", len(p1), p1[:1])
	}
	if prevRE.MatchString(body) {
		t.Errorf("page 1 has a previous page")
	}
	next := html.UnescapeString(nextRE.FindStringSubmatch(body)[1])
	_, body = b.get(next)
	p2 := pageOf(body)
	if len(p2) != 50 || p2[0] != "Donor Number 70" || !strings.Contains(body, "Page 2") || !prevRE.MatchString(body) {
		t.Fatalf("page 2: got %d rows from %v", len(p2), p2[:1])
	}
	_, body = b.get(html.UnescapeString(nextRE.FindStringSubmatch(body)[1]))
	if p3 := pageOf(body); len(p3) != 20 || nextRE.MatchString(body) {
		t.Errorf("page 3: got %d rows (next link: %v), want the last 20 and no next", len(p3), nextRE.MatchString(body))
	}
	_, body = b.get(html.UnescapeString(prevRE.FindStringSubmatch(body)[1]))
	if got := regexp.MustCompile(`class="donor">([^<]+)<`).FindStringSubmatch(body); got == nil || got[1] != "Donor Number 70" {
		t.Errorf("back from page 3: got %v, want page 2 again", got)
	}

	count := func(q string) int {
		t.Helper()
		resp, body := b.get("/t/acme/queues/needs-review?" + q)
		if resp.StatusCode != 200 {
			t.Errorf("%s: got %d %s", q, resp.StatusCode, excerpt(body))
		}
		return strings.Count(body, `class="donor"`)
	}
	if n := count("source=eventbrite"); n != 12 {
		t.Errorf("source=eventbrite: got %d, want 12", n)
	}
	if n := count("min=10&max=20.50"); n != 11 {
		t.Errorf("amount 10–20.50: got %d, want 11", n)
	}
	// Default ages: amber from 3 days (72h), red from 7 days (168h).
	if n := count("age=fresh"); n != 50 { // 1h–71h: 71 rows, first page of 50
		t.Errorf("age=fresh: got %d", n)
	}
	if n := count("age=amber&max=1000"); n != 48 { // 72h–119h
		t.Errorf("age=amber: got %d, want 48", n)
	}
	if n := count("age=red"); n != 0 {
		t.Errorf("age=red: got %d, want 0", n)
	}
	seen = map[string]bool{}
	_, body = b.get("/t/acme/queues/needs-review?sort=amount-desc")
	if got := pageOf(body); len(got) == 0 || got[0] != "Donor Number 120" {
		t.Errorf("largest amount first: got %v", got[:1])
	}
	_, body = b.get("/t/acme/queues/needs-review?sort=amount-asc&min=3")
	seen = map[string]bool{}
	if got := pageOf(body); len(got) == 0 || got[0] != "Donor Number 3" {
		t.Errorf("smallest from 3: got %v", got[:1])
	}
	// A filter that does not parse is named, and the rest still applies.
	resp, body = b.get("/t/acme/queues/needs-review?min=ten&source=paypal&sort=random")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Amount from: &#34;ten&#34; is not an amount") ||
		!strings.Contains(body, "Source: choose") || strings.Count(body, `class="donor"`) != 50 {
		t.Errorf("bad filters: got %d %s", resp.StatusCode, excerpt(body[strings.Index(body, "<main"):]))
	}
	// A cursor that is not one starts over, with a message.
	if resp, body := b.get("/t/acme/queues/needs-review?after=garbage"); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "start again from the first page") {
		t.Errorf("bad cursor: got %d", resp.StatusCode)
	}
	// htmx asks for the results alone.
	req, _ := http.NewRequest("GET", d.Web.URL+"/t/acme/queues/needs-review?q=number+12", nil)
	req.Header.Set("HX-Request", "true")
	req.Header.Set("HX-Target", "results")
	resp, body = b.do(req)
	if resp.StatusCode != 200 || strings.Contains(body, "<html") || !strings.Contains(body, `<table class="queue">`) || strings.Count(body, `class="donor"`) != 2 {
		t.Errorf("htmx fragment: got %d, %d rows, full page %v", resp.StatusCode, strings.Count(body, `class="donor"`), strings.Contains(body, "<html"))
	}
}

func TestQueueEmptyStates(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	b := d.as(engineer)
	for q, want := range map[string]string{
		"needs-review":      "Nothing needs review",
		"conflict":          "No conflicts",
		"failed":            "Nothing failed",
		"failed?q=anything": "No records match these filters",
	} {
		resp, body := b.get("/t/acme/queues/" + q)
		if resp.StatusCode != 200 || !strings.Contains(body, want) || strings.Contains(body, "<table") {
			t.Errorf("%s: got %d, want the empty state %q", q, resp.StatusCode, want)
		}
	}
	if _, body := b.get("/t/acme/queues/needs-review"); !strings.Contains(body, "3 days after submission") {
		t.Errorf("the needs-review empty state does not give the tenant's window")
	}
}

// An engineer sees every tenant with its counts and can switch between
// them; staff go straight to their own queues.
func TestHome(t *testing.T) {
	t.Parallel()
	d := newDash(t, apptest.Options{})
	d.put(seed{n: 1, status: record.Failed})
	d.put(seed{tenant: d.beta, n: 2, status: record.NeedsReview})
	_, body := d.as(engineer).get("/")
	for _, want := range []string{"Acme", "Beta", `href="/t/beta/queues/needs-review"`, `class="switcher"`} {
		if !strings.Contains(body, want) {
			t.Errorf("engineer's start page lacks %q", want)
		}
	}
	resp, _ := d.as(staffB).get("/")
	if loc := resp.Header.Get("Location"); loc != "/t/beta/queues/needs-review" {
		t.Errorf("staff start page: got redirect to %q", loc)
	}
	_, body = d.as(staffB).get("/t/beta/queues/needs-review")
	if strings.Contains(body, `class="switcher"`) || strings.Contains(body, "/t/acme") {
		t.Errorf("staff of beta see a way to acme")
	}
}
