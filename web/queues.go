package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/internal/links"
	"backstop/internal/money"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/views"
)

// queues maps a queue's URL name to its status, in tab order.
var queues = []struct {
	slug, label string
	status      record.Status
}{
	{"needs-review", "Needs review", record.NeedsReview},
	{"conflict", "Conflicts", record.Conflict},
	{"failed", "Failed", record.Failed},
}

func queueStatus(slug string) (record.Status, bool) {
	for _, q := range queues {
		if q.slug == slug {
			return q.status, true
		}
	}
	return "", false
}

// queueSlug is the queue a status belongs to ("" for none).
func queueSlug(st record.Status) string {
	for _, q := range queues {
		if q.status == st {
			return q.slug
		}
	}
	return ""
}

const queuePageSize = 50

var (
	sortOptions = []views.Option{
		opt(string(store.SortOldest), "Oldest first"), opt(string(store.SortNewest), "Newest first"),
		opt(string(store.SortAmountDesc), "Largest amount"), opt(string(store.SortAmountAsc), "Smallest amount"),
		opt(string(store.SortDateDesc), "Latest gift date"), opt(string(store.SortDateAsc), "Earliest gift date"),
	}
	sourceOptions = []views.Option{opt("", "Any source"), opt("stripe", "Stripe"), opt("eventbrite", "Eventbrite"), opt("other", "Other")}
)

func ageOptions(t *tenant.Tenant) []views.Option {
	amber, red := views.Long(secs(t.AgeAmberS)), views.Long(secs(t.AgeRedS))
	return []views.Option{opt("", "Any age"), opt("fresh", "Under "+amber), opt("amber", amber+" to "+red), opt("red", "Over "+red)}
}

func opt(value, label string) views.Option { return views.Option{Value: value, Label: label} }

func secs(n int) time.Duration { return time.Duration(n) * time.Second }

// queue is /t/:tenant/queues/:queue: one keyset page of a queue with its
// filters. A filter that does not parse is named and left out, not a dead
// end. htmx filter requests get the results fragment only.
func (s *Server) queue(c echo.Context) error {
	return s.renderQueue(c, c.QueryParams(), c.Request().URL.RequestURI())
}

// queueAt renders the queue page at back — the page a bulk form came
// from, with its filters — to answer a refused bulk action.
func (s *Server) queueAt(base, back string) echo.HandlerFunc {
	return func(c echo.Context) error {
		u, err := url.Parse(back)
		if err != nil || u.Path != base {
			return s.renderQueue(c, url.Values{}, base)
		}
		return s.renderQueue(c, u.Query(), back)
	}
}

// renderQueue is the :queue page with the filters and page in query; back
// is its own address, for the forms on it to return to.
func (s *Server) renderQueue(c echo.Context, query url.Values, back string) error {
	t := tenantOf(c)
	status, ok := queueStatus(c.Param("queue"))
	if !ok {
		return derrors.NotFound
	}
	ctx := c.Request().Context()
	q, f, ferr := parseQueueQuery(query, t, s.now())
	q.TenantID, q.Status, q.Limit = t.ID, status, queuePageSize
	page, err := s.deps.Store.Queue(ctx, q)
	if errors.Is(err, derrors.InvalidArgument) { // a stale cursor: start over
		q.After, q.Before, ferr = nil, nil, derrors.Public(err)
		page, err = s.deps.Store.Queue(ctx, q)
	}
	if err != nil {
		return err
	}
	p := views.QueueProps{
		Queue: c.Param("queue"), Filters: views.QueueFilters(f), Sorts: sortOptions, Sources: sourceOptions, Ages: ageOptions(t),
		Amber: secs(t.AgeAmberS), Red: secs(t.AgeRedS), NeedsReviewAfter: t.NeedsReviewAfter(),
		FilterError: ferr, Back: back,
		BulkAction: "/t/" + t.Slug + "/queues/" + c.Param("queue") + "/bulk", Action: "/t/" + t.Slug + "/records/",
	}
	p.Page, _ = strconv.Atoi(query.Get("page"))
	p.Page = max(p.Page, 1)
	if q.After == nil && q.Before == nil {
		p.Page = 1
	}
	if err := s.queueRows(c, t, status, page.Rows, &p); err != nil {
		return err
	}
	base := "/t/" + t.Slug + "/queues/" + p.Queue
	p.First = base + "?" + f.values("", "", 0).Encode()
	if page.Next != nil {
		p.Next = base + "?" + f.values("after", page.Next.String(), p.Page+1).Encode()
	}
	if page.Prev != nil && p.Page > 1 {
		p.Prev = base + "?" + f.values("before", page.Prev.String(), p.Page-1).Encode()
	}
	if isHTMX(c) && c.Request().Header.Get("HX-Target") == "results" {
		return render(c, http.StatusOK, views.QueueResults(s.chrome(c, "", "queues"), p))
	}
	counts, err := s.deps.Store.QueueCounts(ctx, []int64{t.ID})
	if err != nil {
		return err
	}
	for _, qq := range queues {
		p.Tabs = append(p.Tabs, views.QueueTab{Slug: qq.slug, Label: qq.label, Count: counts[t.ID][qq.status], Current: qq.status == status})
	}
	status200 := http.StatusOK
	if ferr != "" {
		status200 = http.StatusBadRequest
	}
	return render(c, status200, views.QueuePage(s.chrome(c, queueLabel(status)+" · "+t.Name, "queues"), p))
}

func queueLabel(st record.Status) string {
	for _, q := range queues {
		if q.status == st {
			return q.label
		}
	}
	return string(st)
}

func (s *Server) queueRows(c echo.Context, t *tenant.Tenant, status record.Status, rows []*record.Record, p *views.QueueProps) error {
	var diffs map[int64][]record.Diff
	if status == record.Conflict && len(rows) > 0 {
		ids := make([]int64, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		var err error
		if diffs, err = s.deps.Store.OpenConflictDiffs(c.Request().Context(), t.ID, ids); err != nil {
			return err
		}
	}
	for _, r := range rows {
		row := views.QueueRow{
			ID: r.ID, Version: r.Version, Href: "/t/" + t.Slug + "/records/" + strconv.FormatInt(r.ID, 10),
			Kind: string(r.Kind), Donor: r.DonorName, Email: r.DonorEmail, Amount: amountText(r.AmountMinor, r.Currency),
			Source: views.SourceLabel(string(r.Source)), Ref: r.SourceRef, AgeSince: r.AgeAt, Reason: r.LastError, Attempts: r.Attempts,
		}
		if r.GiftDate != nil {
			row.GiftDate = r.GiftDate.Format("2006-01-02")
		}
		if l := links.Source(r); len(l) > 0 {
			row.RefURL = l[0].URL
		}
		if status == record.Conflict {
			row.Reason = diffFields(diffs[r.ID])
		}
		p.Rows = append(p.Rows, row)
	}
	return nil
}

func diffFields(ds []record.Diff) string {
	names := make([]string, len(ds))
	for i, d := range ds {
		names[i] = fieldLabel(d.Field)
	}
	return strings.Join(names, ", ")
}

// fieldLabel names a drift-mapping field for people.
func fieldLabel(f record.Field) string {
	switch f {
	case record.FieldGiftDate:
		return "Gift date"
	case record.FieldGiftType:
		return "Gift type"
	case record.FieldFirstName:
		return "First name"
	case record.FieldLastName:
		return "Last name"
	}
	return capitalize(string(f))
}

// amountText is "50.00 USD", or "" when there is no amount.
func amountText(minor *int64, currency *string) string {
	if minor == nil || currency == nil {
		return ""
	}
	return money.Format(*minor, *currency) + " " + *currency
}

// filterForm is the queue filters as typed, re-encoded into page links.
type filterForm views.QueueFilters

func (f filterForm) values(cursorKey, cursor string, page int) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"q": f.Q, "source": f.Source, "age": f.Age, "min": f.Min, "max": f.Max} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if f.Sort != "" && f.Sort != string(store.SortOldest) {
		v.Set("sort", f.Sort)
	}
	if cursorKey != "" {
		v.Set(cursorKey, cursor)
		v.Set("page", strconv.Itoa(page))
	}
	return v
}

// parseQueueQuery reads the filters. What does not parse is dropped from
// the query and named in the returned message.
func parseQueueQuery(query url.Values, t *tenant.Tenant, now time.Time) (store.QueueQuery, filterForm, string) {
	f := filterForm{
		Q: strings.TrimSpace(query.Get("q")), Source: query.Get("source"), Age: query.Get("age"),
		Min: strings.TrimSpace(query.Get("min")), Max: strings.TrimSpace(query.Get("max")), Sort: query.Get("sort"),
	}
	var q store.QueueQuery
	var problems []string
	f.Q = truncate(f.Q, 200)
	q.Search = f.Q
	switch src := record.Source(f.Source); {
	case f.Source == "":
	case src.Valid():
		q.Source = src
	default:
		problems, f.Source = append(problems, "Source: choose Stripe, Eventbrite or Other"), ""
	}
	amber, red := now.Add(-secs(t.AgeAmberS)), now.Add(-secs(t.AgeRedS))
	switch f.Age {
	case "":
	case "fresh":
		q.AgeFrom = &amber
	case "amber":
		q.AgeBefore, q.AgeFrom = &amber, &red
	case "red":
		q.AgeBefore = &red
	default:
		problems, f.Age = append(problems, "Age: choose one of the listed ages"), ""
	}
	for _, a := range []struct {
		name string
		text *string
		dst  **int64
	}{{"Amount from", &f.Min, &q.AmountMin}, {"Amount to", &f.Max, &q.AmountMax}} {
		if *a.text == "" {
			continue
		}
		n, err := money.ParseMinor(strings.ReplaceAll(*a.text, ",", ""), "USD")
		if err != nil || n < 0 {
			problems = append(problems, a.name+": "+strconv.Quote(*a.text)+" is not an amount such as 25 or 25.50")
			*a.text = ""
			continue
		}
		*a.dst = &n
	}
	q.Sort = store.QueueSort(f.Sort)
	if f.Sort == "" {
		q.Sort, f.Sort = store.SortOldest, string(store.SortOldest)
	} else if !q.Sort.Valid() {
		problems = append(problems, "Sort: choose one of the listed orders")
		q.Sort, f.Sort = store.SortOldest, string(store.SortOldest)
	}
	var err error
	if v := query.Get("after"); v != "" {
		q.After, err = store.ParseQueueCursor(v)
	} else if v := query.Get("before"); v != "" {
		q.Before, err = store.ParseQueueCursor(v)
	}
	if err != nil {
		problems = append(problems, derrors.Public(err))
	}
	msg := ""
	if len(problems) > 0 {
		msg = "Some filters were left out. " + strings.Join(problems, ". ") + "."
	}
	return q, f, msg
}
