package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"

	"github.com/labstack/echo/v4"

	"backstop/internal/links"
	"backstop/internal/record"
	"backstop/internal/review"
	"backstop/internal/tenant"
	"backstop/views"
)

// lookupPage is /t/:tenant/lookup, the spec's runbook for a customer's
// report of a missing record.
func (s *Server) lookupPage(c echo.Context) error {
	return s.renderLookup(c, c.QueryParam("q"))
}

// renderLookup is the runbook's page for the search q ("" for none).
func (s *Server) renderLookup(c echo.Context, q string) error {
	t := tenantOf(c)
	q = truncate(q, 200)
	p := views.LookupProps{Query: q, Action: "/t/" + t.Slug + "/lookup", ApplyAction: "/t/" + t.Slug + "/lookup/apply"}
	if q != "" {
		rb, err := s.deps.Review.Run(c.Request().Context(), t, q)
		if err != nil {
			return err
		}
		p.Searched, p.ByReference = true, rb.ByReference
		for _, f := range rb.Findings {
			p.Findings = append(p.Findings, findingView(t, f))
		}
	}
	return render(c, http.StatusOK, views.LookupPage(s.chrome(c, "Missing record", "lookup"), p))
}

func findingView(t *tenant.Tenant, f review.Finding) views.FindingView {
	v := views.FindingView{Kind: string(f.Kind), ExtSource: f.Source, ExtID: f.Ref, Found: f.Found, LookupErr: f.LookupErr,
		Step: string(f.Step), Advice: f.Advice, CanApply: f.Step == review.StepApply, KeyLabel: "Transaction source / id"}
	if f.Kind == record.Contact {
		v.KeyLabel = "Reference source / id"
	}
	if r := f.Record; r != nil {
		v.HasRecord, v.RecordURL, v.Title, v.Status = true, recordURL(t, r.ID), recordTitle(r), string(r.Status)
		v.PlatformID, v.Source, v.SourceRef = r.PlatformID, string(r.Source), r.SourceRef
		v.LastSyncAt, v.SubmittedAt, v.CreatedAt = r.LastSyncAt, r.SubmittedAt, r.CreatedAt
		for _, l := range links.Source(r) {
			v.SourceLinks = append(v.SourceLinks, views.LinkView{Label: l.Label, URL: l.URL})
		}
	}
	if o := f.Virtuous; o != nil {
		v.VirtuousID = strconv.FormatInt(o.VirtuousID, 10)
		if o.Kind == record.Gift {
			v.VirtuousURL = links.VirtuousGift(t.VirtuousAppURL, o.VirtuousID)
		} else {
			v.VirtuousURL = links.VirtuousContact(t.VirtuousAppURL, o.VirtuousID)
		}
		if !o.ModifiedAt.IsZero() {
			at := o.ModifiedAt
			v.VirtuousWhen = &at
		}
		fields := make([]string, 0, len(o.Values))
		for k := range o.Values {
			fields = append(fields, string(k))
		}
		sort.Slice(fields, func(i, j int) bool { return fieldOrder(fields[i]) < fieldOrder(fields[j]) })
		for _, k := range fields {
			if val := o.Values[record.Field(k)]; val != "" {
				v.VirtuousVals = append(v.VirtuousVals, views.KV{K: fieldLabel(record.Field(k)), V: fieldValue(record.Field(k), val)})
			}
		}
	}
	if f.Step == review.StepNeedsUpdate {
		v.ImportTool = links.VirtuousImportTool(t.VirtuousAppURL)
	}
	return v
}

func fieldOrder(f string) int {
	for i, x := range record.Fields {
		if string(x) == f {
			return i
		}
	}
	return len(record.Fields)
}

// lookupApply is POST /t/:tenant/lookup/apply: the runbook's "apply it
// now". It looks the object up again itself and applies it through the
// inbound handler; the form only names it.
func (s *Server) lookupApply(c echo.Context) error {
	t := tenantOf(c)
	q := c.FormValue("q")
	back := "/t/" + t.Slug + "/lookup?q=" + url.QueryEscape(q)
	kind, source, ref := record.Kind(c.FormValue("kind")), c.FormValue("source"), c.FormValue("ref")
	res, err := s.deps.Review.Apply(c.Request().Context(), t, kind, source, ref, actor(c))
	if err != nil {
		// Refused on the runbook's page, searched again as it was.
		return s.refuseErr(c, err, func(c echo.Context) error { return s.renderLookup(c, q) })
	}
	var msg string
	switch res.Outcome {
	case "confirmed":
		msg = fmt.Sprintf("Applied %s %d from Virtuous: the record is confirmed, and the recovery is in the audit trail.", kind, res.VirtuousID)
	case "virtuous_only":
		msg = fmt.Sprintf("Applied %s %d from Virtuous: it is on the changes feed for the platform to pick up, and the recovery is in the audit trail.", kind, res.VirtuousID)
	case "updated":
		msg = fmt.Sprintf("Applied %s %d from Virtuous: Backstop's copy is up to date.", kind, res.VirtuousID)
	default:
		msg = fmt.Sprintf("Backstop already had this version of %s %d; nothing needed applying. The attempt is in the audit trail.", kind, res.VirtuousID)
	}
	s.flash(c, "ok", msg)
	return seeOther(c, back)
}
