package web

import (
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/tenant"
	"backstop/views"
)

const auditPageSize = 50

// auditCategories are the categories the filter offers, in the order of
// the sync's life.
var auditCategories = []string{audit.CatIntake, audit.CatSubmission, audit.CatWebhook, audit.CatStuck,
	audit.CatNeedsReview, audit.CatMissed, audit.CatDrift, audit.CatReview, audit.CatEscalation, audit.CatSettings}

// auditQuery is the request's query without the empty fields a submitted
// form sends for filters left blank ("any"), and with an actor typed as an
// email read as that person (user:EMAIL), as people name each other.
func auditQuery(c echo.Context) url.Values {
	q := url.Values{}
	for k, vs := range c.QueryParams() {
		for _, v := range vs {
			if strings.TrimSpace(v) != "" {
				q.Add(k, v)
			}
		}
	}
	if a := strings.TrimSpace(q.Get("actor")); strings.Index(a, "@") > 0 && !strings.Contains(a, ":") {
		q.Set("actor", audit.ActorUser(a))
	}
	return q
}

// auditForm is the audit filters as typed, in the query string the page,
// its pages and its CSV link share.
func auditForm(q url.Values) views.AuditFilters {
	return views.AuditFilters{Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")),
		Action: strings.Join(q["action"], ","), Category: strings.Join(q["category"], ","),
		Actor: strings.TrimSpace(q.Get("actor")), Record: strings.TrimSpace(q.Get("record"))}
}

// values is the filters as typed, for links; cursorKey and cursor add a page.
func auditValues(f views.AuditFilters, cursorKey, cursor string) url.Values {
	v := url.Values{}
	for k, x := range map[string]string{"since": f.Since, "until": f.Until, "action": f.Action, "category": f.Category,
		"actor": f.Actor, "record": f.Record} {
		if x != "" {
			v.Set(k, x)
		}
	}
	if cursorKey != "" {
		v.Set(cursorKey, cursor)
	}
	return v
}

// auditPage is /t/:tenant/audit: the tenant's audit trail, newest first,
// filtered by date range, action, category, actor and record, in keyset
// pages (?before= older, ?after= newer). Filters that do not parse answer
// 400 with the form and the reason, and no entries.
func (s *Server) auditPage(c echo.Context) error {
	t := tenantOf(c)
	q := auditQuery(c)
	form := auditForm(q)
	base := "/t/" + t.Slug + "/audit"
	p := views.AuditProps{Filters: form, Actions: withCurrent(append([]views.Option{opt("", "Any action")}, views.ActionOptions()...), form.Action),
		Categories: withCurrent(categoryOptions(), form.Category),
		CSV:        base + ".csv?" + auditValues(form, "", "").Encode(), Newest: base + "?" + auditValues(form, "", "").Encode()}
	chrome := s.chrome(c, "Audit trail · "+t.Name, "audit")
	f, err := audit.ParseFilter(q)
	var before, after *audit.Cursor
	if err == nil {
		before, after, err = auditCursors(q)
	}
	if err != nil {
		p.FilterError = derrors.Public(err)
		return render(c, http.StatusBadRequest, views.AuditPage(chrome, p))
	}
	rows, newer, older, err := s.auditRows(c, t, f, before, after)
	if err != nil {
		return err
	}
	for _, r := range rows {
		p.Rows = append(p.Rows, auditRow(t, r))
	}
	if len(rows) > 0 {
		if newer {
			p.Newer = base + "?" + auditValues(form, "after", rows[0].Cursor().String()).Encode()
		}
		if older {
			p.Older = base + "?" + auditValues(form, "before", rows[len(rows)-1].Cursor().String()).Encode()
		}
	}
	return render(c, http.StatusOK, views.AuditPage(chrome, p))
}

func auditCursors(q url.Values) (before, after *audit.Cursor, err error) {
	for _, k := range []struct {
		name string
		dst  **audit.Cursor
	}{{"before", &before}, {"after", &after}} {
		if v := q.Get(k.name); v != "" {
			cur, err := audit.ParseCursor(k.name, v)
			if err != nil {
				return nil, nil, err
			}
			*k.dst = &cur
		}
	}
	if before != nil && after != nil {
		return nil, nil, derrors.Invalid("after", "give before or after, not both")
	}
	return before, after, nil
}

// auditRows reads one page, and whether there are newer and older entries
// beyond it: one row more than the page is read in the page's direction.
func (s *Server) auditRows(c echo.Context, t *tenant.Tenant, f audit.Filter, before, after *audit.Cursor) (_ []*audit.Row, newer, older bool, err error) {
	ctx := c.Request().Context()
	if after != nil {
		rows, err := s.deps.Store.AuditPageNewer(ctx, t.ID, f, *after, auditPageSize+1)
		if err != nil {
			return nil, false, false, err
		}
		if len(rows) > auditPageSize { // newest first: the extra row is the first
			return rows[1:], true, true, nil
		}
		return rows, false, true, nil
	}
	rows, err := s.deps.Store.AuditPage(ctx, t.ID, f, before, auditPageSize+1)
	if err != nil {
		return nil, false, false, err
	}
	if len(rows) > auditPageSize {
		return rows[:auditPageSize], before != nil, true, nil
	}
	return rows, before != nil, false, nil
}

func auditRow(t *tenant.Tenant, r *audit.Row) views.AuditRow {
	e := timelineEntry(&r.Entry)
	row := views.AuditRow{At: e.At, Action: e.Action, ActionCode: r.Action, Category: r.Category, Actor: e.Actor,
		From: e.From, To: e.To, Details: e.Details}
	if r.RecordID != nil {
		row.Record = recordURL(t, *r.RecordID)
		row.RecordLabel = "record " + strconv.FormatInt(*r.RecordID, 10)
		if r.PlatformID != "" {
			row.RecordLabel = r.PlatformID + " · " + views.SourceLabel(r.Source) + " " + r.SourceRef
		}
	}
	return row
}

func categoryOptions() []views.Option {
	out := []views.Option{opt("", "Any category")}
	for _, c := range auditCategories {
		out = append(out, opt(c, views.CategoryLabel(c)))
	}
	return out
}

// withCurrent adds the value in force to a select's options when it is not
// one of them (several actions, or one from a hand-made link), so the form
// always shows the filter that is applied.
func withCurrent(opts []views.Option, current string) []views.Option {
	for _, o := range opts {
		if o.Value == current {
			return opts
		}
	}
	return append(opts, opt(current, current))
}

// auditCSV is GET /t/:tenant/audit.csv: the tenant's entries matching the
// page's filters as CSV, oldest first, streamed from a database cursor by
// audit.Export. Bad filters answer 400 before a byte of CSV.
func (s *Server) auditCSV(c echo.Context) error {
	t := tenantOf(c)
	f, err := audit.ParseFilter(auditQuery(c))
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+csvName(t, f, s.now())+`"`)
	h.Set("Cache-Control", "no-store")
	c.Response().WriteHeader(http.StatusOK)
	n, err := audit.Export(c.Request().Context(), c.Response(), s.deps.Store, t.ID, f)
	if err != nil {
		// The status and some rows are out: the cut-off file is all the
		// client can get. Say so in the log.
		s.deps.Log.Error("audit export failed", slog.String("tenant", t.Slug), slog.Int64("rows", n), slog.Any("error", err),
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)))
	}
	return nil
}

// csvName names an export by tenant and range: the first and last day it
// covers ("start" when open at the beginning, today when open at the end).
func csvName(t *tenant.Tenant, f audit.Filter, now time.Time) string {
	from := "start"
	if !f.Since.IsZero() {
		from = f.Since.UTC().Format(time.DateOnly)
	}
	to := now.UTC()
	if !f.Until.IsZero() {
		to = f.Until.UTC().Add(-time.Microsecond) // Until is exclusive
	}
	return "backstop-audit-" + t.Slug + "-" + from + "-to-" + to.Format(time.DateOnly) + ".csv"
}
