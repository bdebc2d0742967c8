package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/links"
	"backstop/internal/record"
	"backstop/internal/review"
	"backstop/internal/store"
	"backstop/internal/tenant"
	"backstop/views"
)

// recordOf loads the :id record of the page's tenant; another tenant's
// record is NotFound, like one that does not exist.
func (s *Server) recordOf(c echo.Context) (*record.Record, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, derrors.NotFound
	}
	return s.deps.Store.Record(c.Request().Context(), s.deps.Store.DB(), tenantOf(c).ID, id)
}

func recordURL(t *tenant.Tenant, id int64) string {
	return "/t/" + t.Slug + "/records/" + strconv.FormatInt(id, 10)
}

// recordPage is /t/:tenant/records/:id: the donor, the Transaction as
// sent, its links at the source and in Virtuous, the actions its status
// allows, and the audit timeline.
func (s *Server) recordPage(c echo.Context) error {
	t := tenantOf(c)
	r, err := s.recordOf(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	entries, err := s.deps.Store.RecordAudit(ctx, t.ID, r.ID)
	if err != nil {
		return err
	}
	p := recordProps(t, r)
	for _, e := range entries {
		p.Timeline = append(p.Timeline, timelineEntry(e))
	}
	conflict, err := s.deps.Store.LatestConflict(ctx, s.deps.Store.DB(), t.ID, r.ID)
	switch {
	case errors.Is(err, derrors.NotFound):
	case err != nil:
		return err
	default:
		p.Conflict = conflictView(r, conflict)
	}
	return render(c, http.StatusOK, views.RecordPage(s.chrome(c, views.StatusLabel(string(r.Status))+" · "+recordTitle(r), "queues"), p))
}

func recordTitle(r *record.Record) string {
	if r.DonorName != "" {
		return r.DonorName
	}
	return r.PlatformID
}

func recordProps(t *tenant.Tenant, r *record.Record) views.RecordProps {
	p := views.RecordProps{
		ID: r.ID, Version: r.Version, Kind: string(r.Kind), Status: string(r.Status), PlatformID: r.PlatformID,
		Donor: r.DonorName, Email: r.DonorEmail, Amount: amountText(r.AmountMinor, r.Currency),
		Source: string(r.Source), SourceRef: r.SourceRef, ExtSource: r.ExtSource, ExtID: r.ExtID,
		KeyLabel: "Transaction source / id", CreatedAt: r.CreatedAt, PlatformUpdatedAt: r.PlatformUpdatedAt,
		SubmittedAt: r.SubmittedAt, ConfirmedAt: r.ConfirmedAt, LastSyncAt: r.LastSyncAt, VirtuousModified: r.VirtuousModifiedAt,
		AgeSince: r.AgeAt, Amber: secs(t.AgeAmberS), Red: secs(t.AgeRedS), NeedsReviewAfter: t.NeedsReviewAfter(),
		Attempts: r.Attempts, LastError: r.LastError, Queue: queueSlug(r.Status), QueueLabel: queueLabel(r.Status),
		Action: recordURL(t, r.ID), Transaction: indent(r.Payload),
	}
	if r.Kind == record.Contact {
		p.KeyLabel = "Reference source / id"
	}
	if r.GiftDate != nil {
		p.GiftDate = r.GiftDate.Format("2006-01-02")
	}
	if r.ConfirmedVia != nil {
		p.ConfirmedVia = string(*r.ConfirmedVia)
	}
	if r.VirtuousID != nil {
		p.VirtuousID = strconv.FormatInt(*r.VirtuousID, 10)
	}
	for _, l := range links.Source(r) {
		p.SourceLinks = append(p.SourceLinks, views.LinkView{Label: l.Label, URL: l.URL})
	}
	for _, l := range links.Virtuous(t.VirtuousAppURL, r) {
		p.VirtuousLinks = append(p.VirtuousLinks, views.LinkView{Label: l.Label, URL: l.URL})
	}
	if r.Status == record.NeedsReview {
		p.ImportTool = links.VirtuousImportTool(t.VirtuousAppURL)
	}
	if f, err := review.FormOf(r); err == nil {
		p.Address = addressText(f.Address)
	}
	if g, err := record.DecodeGift(r.Payload); err == nil && r.Kind == record.Gift {
		p.GiftType = g.GiftType
	}
	return p
}

func addressText(a record.Address) string {
	var parts []string
	for _, s := range []string{a.Address1, a.Address2, a.City, a.State, a.Postal, a.Country} {
		if s = strings.TrimSpace(s); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ", ")
}

func indent(b []byte) string {
	var buf bytes.Buffer
	if json.Indent(&buf, b, "", "  ") != nil {
		return string(b)
	}
	return buf.String()
}

func timelineEntry(e *audit.Entry) views.TimelineEntry {
	te := views.TimelineEntry{At: e.At, Actor: review.ActorName(e.Actor), Action: views.ActionLabel(e.Action), From: e.FromStatus, To: e.ToStatus}
	var m map[string]any
	if json.Unmarshal(e.Details, &m) == nil {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			te.Details = append(te.Details, views.KV{K: strings.ReplaceAll(k, "_", " "), V: detailText(m[k])})
		}
	}
	return te
}

// detailText shows one audit detail in words: times in full, a drift's
// fields as "amount: platform 21.00, Virtuous 30.00", choices as
// "amount: platform".
func detailText(v any) string {
	switch x := v.(type) {
	case string:
		if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
			return views.Exact(t)
		}
		return x
	case nil:
		return "—"
	case []any:
		parts := make([]string, 0, len(x))
		for _, it := range x {
			parts = append(parts, fieldChangeText(it))
		}
		return strings.Join(parts, "; ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+detailText(x[k]))
		}
		return strings.Join(parts, ", ")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// fieldChangeText reads one entry of a drift's fields: a difference
// (platform, virtuous) or a resolution (winner, after).
func fieldChangeText(it any) string {
	m, ok := it.(map[string]any)
	if !ok {
		b, _ := json.Marshal(it)
		return string(b)
	}
	f, _ := m["field"].(string)
	name := strings.ToLower(fieldLabel(record.Field(f)))
	if w, ok := m["winner"].(string); ok {
		after, _ := m["after"].(string)
		return fmt.Sprintf("%s: %s's %q kept", name, w, fieldValue(record.Field(f), after))
	}
	p, _ := m["platform"].(string)
	v, _ := m["virtuous"].(string)
	return fmt.Sprintf("%s: platform %q, Virtuous %q", name, fieldValue(record.Field(f), p), fieldValue(record.Field(f), v))
}

func conflictView(r *record.Record, c *store.ConflictRow) *views.ConflictView {
	v := &views.ConflictView{PlatformChanged: r.PlatformUpdatedAt, VirtuousChanged: r.VirtuousModifiedAt, Open: c.ResolvedAt == nil, ResolvedAt: c.ResolvedAt}
	if c.ResolvedBy != nil {
		v.ResolvedBy = review.ActorName(*c.ResolvedBy)
	}
	var chosen map[record.Field]string
	json.Unmarshal(c.Resolution, &chosen)
	for _, d := range c.Diffs() {
		v.Fields = append(v.Fields, views.ConflictField{Field: string(d.Field), Label: fieldLabel(d.Field),
			Platform: fieldValue(d.Field, d.Platform), Virtuous: fieldValue(d.Field, d.Virtuous), Chosen: chosen[d.Field]})
	}
	return v
}

// fieldValue shows a canonical value as people write it.
func fieldValue(f record.Field, v string) string {
	if f == record.FieldAddress {
		return addressText(record.ParseAddress(v))
	}
	return v
}

// The actions. Each that did something ends with a flash and a 303: back
// to the page the person came from (the queue, for the bulk forms and
// per-row buttons), or the record. One that changed nothing — someone else
// moved the record first, a wrong input, Virtuous unavailable — is refused
// (see refuse): the record page again, with what happened in words and a
// 4xx (503 for Virtuous); anything else is a fault.

// backTo is the local page to return to: the form's "back" if it is one of
// this tenant's pages, else def.
func backTo(c echo.Context, def string) string {
	b := localPath(c.FormValue("back"), def)
	if !strings.HasPrefix(b, "/t/"+tenantOf(c).Slug+"/") {
		return def
	}
	return b
}

// formVersion is the record version the form was made from. Every record
// action's form carries it, and the store guards a transition by it only
// when it is non-zero, so a missing or garbled version must be refused
// here: read as 0, it would let the action through whatever had changed.
func formVersion(c echo.Context) (int64, error) {
	vs := c.Request().PostForm["version"]
	if len(vs) != 1 {
		return 0, derrors.Invalid("version", "the form does not say which version of the record it was made from; reload the page and try again")
	}
	v, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || v <= 0 {
		return 0, derrors.Invalid("version", "the form does not say which version of the record it was made from; reload the page and try again")
	}
	return v, nil
}

// done ends a record action: ok flashed and a 303 to to, or the refusal
// of err on the record's page.
func (s *Server) done(c echo.Context, to string, err error, ok string) error {
	if err != nil {
		return s.refuseErr(c, err, s.recordPage)
	}
	s.flash(c, "ok", ok)
	return seeOther(c, to)
}

func actor(c echo.Context) string { return audit.ActorUser(userOf(c).Email) }

func (s *Server) checkNow(c echo.Context) error {
	t := tenantOf(c)
	r, err := s.recordOf(c)
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err != nil {
		return s.refuseErr(c, err, s.recordPage)
	}
	res, err := s.deps.Review.CheckNow(c.Request().Context(), t, r.ID, version, actor(c))
	if err != nil {
		return s.refuseErr(c, err, s.recordPage)
	}
	s.flash(c, checkKind(res), checkWords(r, res))
	return seeOther(c, backTo(c, recordURL(t, r.ID)))
}

func checkKind(res *review.CheckResult) string {
	if res.Confirmed {
		return "ok"
	}
	return "info"
}

func checkWords(r *record.Record, res *review.CheckResult) string {
	who := recordTitle(r)
	switch {
	case res.Confirmed:
		return fmt.Sprintf("Virtuous has it (%s %d): %s is confirmed.", r.Kind, res.VirtuousID, who)
	case res.Found:
		return fmt.Sprintf("Virtuous has it (%s %d); %s was already confirmed.", r.Kind, res.VirtuousID, who)
	}
	return fmt.Sprintf("Virtuous still has no %s for %s/%s: %s is still pending in the Import tool, waiting for an admin to match the donor.",
		r.Kind, r.ExtSource, r.ExtID, who)
}

func (s *Server) discard(c echo.Context) error {
	return s.recordAction(c, "Discarded %s. It will not be synced again.", func(ctx context.Context, t *tenant.Tenant, r *record.Record, version int64) error {
		return s.deps.Review.Discard(ctx, t, r.ID, version, c.FormValue("reason"), actor(c))
	})
}

func (s *Server) retry(c echo.Context) error {
	return s.recordAction(c, "Sent again: %s is pending and will be submitted in a moment.", func(ctx context.Context, t *tenant.Tenant, r *record.Record, version int64) error {
		return s.deps.Review.Retry(ctx, t, r.ID, version, actor(c))
	})
}

// recordAction runs act on the page's record at the form's version and
// flashes ok (with the record's title for %s) or what went wrong.
func (s *Server) recordAction(c echo.Context, ok string, act func(context.Context, *tenant.Tenant, *record.Record, int64) error) error {
	t := tenantOf(c)
	r, err := s.recordOf(c)
	if err != nil {
		return err
	}
	version, err := formVersion(c)
	if err == nil {
		err = act(c.Request().Context(), t, r, version)
	}
	return s.done(c, backTo(c, recordURL(t, r.ID)), err, fmt.Sprintf(ok, recordTitle(r)))
}

func (s *Server) resolve(c echo.Context) error {
	t := tenantOf(c)
	r, err := s.recordOf(c)
	if err != nil {
		return err
	}
	choices := map[record.Field]tenant.Side{}
	for k, v := range c.Request().PostForm {
		if f, ok := strings.CutPrefix(k, "choice."); ok {
			if len(v) != 1 {
				return s.refuse(c, http.StatusBadRequest, "Choose one side for "+fieldLabel(record.Field(f))+". Nothing was changed.", s.recordPage)
			}
			choices[record.Field(f)] = tenant.Side(v[0])
		}
	}
	version, err := formVersion(c)
	if err == nil {
		err = s.deps.Review.Resolve(c.Request().Context(), t, r.ID, version, choices, actor(c))
	}
	if fe := (*derrors.FieldError)(nil); errors.As(err, &fe) && fe.Field != "version" && fe.Field != "" {
		return s.refuse(c, http.StatusBadRequest, "Choose a side for "+fieldLabel(record.Field(fe.Field))+". Nothing was changed.", s.recordPage)
	}
	return s.done(c, backTo(c, recordURL(t, r.ID)), err, "Resolved: the chosen values are on their way to the other side, and "+recordTitle(r)+" is confirmed.")
}
