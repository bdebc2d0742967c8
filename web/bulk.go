package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"backstop/internal/derrors"
	"backstop/internal/review"
	"backstop/internal/tenant"
)

// maxBulk bounds one bulk action: a page holds 50 rows.
const maxBulk = 100

// bulkActions are what each queue's bulk bar offers.
var bulkActions = map[string][]string{
	"needs-review": {"check", "discard"},
	"failed":       {"retry", "discard"},
	"conflict":     {"keep-platform", "take-virtuous"},
}

// selection is one selected row: its id and the version the page showed.
type selection struct{ id, version int64 }

// parseSelection reads the selected rows ("id:version", as the page's
// checkboxes send them). A row that does not read, or more rows than one
// action takes, refuses the whole selection: acting on the rest would do
// something the person did not ask for.
func parseSelection(vals []string) ([]selection, error) {
	if len(vals) > maxBulk {
		return nil, derrors.Invalid("sel", "select at most %d records at once; nothing was changed", maxBulk)
	}
	out := make([]selection, 0, len(vals))
	for _, v := range vals {
		a, b, _ := strings.Cut(v, ":")
		id, err1 := strconv.ParseInt(a, 10, 64)
		ver, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil || id <= 0 || ver <= 0 {
			return nil, derrors.Invalid("sel", "the selection could not be read; reload the page and select again. Nothing was changed")
		}
		out = append(out, selection{id, ver})
	}
	return out, nil
}

// bulk is POST /t/:tenant/queues/:queue/bulk: one action on the selected
// rows, each row its own transition (the version it showed guards it), and
// one flash that counts what happened. A form that cannot be carried out,
// or one that changed no row, is refused on the queue page it came from.
func (s *Server) bulk(c echo.Context) error {
	t := tenantOf(c)
	queue := c.Param("queue")
	allowed, ok := bulkActions[queue]
	if !ok {
		return derrors.NotFound
	}
	base := "/t/" + t.Slug + "/queues/" + queue
	back := backTo(c, base)
	page := s.queueAt(base, back)
	action := c.FormValue("action")
	if !slices.Contains(allowed, action) {
		return s.refuse(c, http.StatusBadRequest, "That action is not available in this queue. Nothing was changed.", page)
	}
	sel, err := parseSelection(c.Request().PostForm["sel"])
	if err != nil {
		return s.refuseErr(c, err, page)
	}
	if len(sel) == 0 {
		return s.refuse(c, http.StatusBadRequest, "Select one or more records first.", page)
	}
	var reason string
	if action == "discard" {
		if strings.TrimSpace(c.FormValue("reason")) == "" {
			return s.refuse(c, http.StatusBadRequest, "Give a reason for discarding; it goes into the audit trail. Nothing was discarded.", page)
		}
		if reason, err = review.DiscardReason(c.FormValue("reason")); err != nil {
			return s.refuseErr(c, err, page)
		}
	}
	var tally bulkTally
	ctx := c.Request().Context()
	for _, x := range sel {
		done, err := s.bulkOne(ctx, t, action, x, reason, actor(c))
		if err != nil {
			if !tally.note(err) {
				return err
			}
			var ue *review.UnavailableError
			if errors.As(err, &ue) {
				break // Virtuous is not answering: the rest would fail the same way
			}
			continue
		}
		tally.add(done)
	}
	if tally.done == 0 && tally.pending == 0 {
		return s.refuse(c, tally.status, "Nothing was changed."+tally.leftOut(), page)
	}
	kind, text := tally.words(action, len(sel))
	s.flash(c, kind, text)
	return seeOther(c, back)
}

// bulkOne acts on one row; done says what happened ("done", "pending").
func (s *Server) bulkOne(ctx context.Context, t *tenant.Tenant, action string, x selection, reason, who string) (string, error) {
	rv := s.deps.Review
	switch action {
	case "check":
		res, err := rv.CheckNow(ctx, t, x.id, x.version, who)
		if err != nil {
			return "", err
		}
		if res.Confirmed {
			return "done", nil
		}
		return "pending", nil
	case "discard":
		return "done", rv.Discard(ctx, t, x.id, x.version, reason, who)
	case "retry":
		return "done", rv.Retry(ctx, t, x.id, x.version, who)
	case "keep-platform":
		return "done", rv.ResolveAll(ctx, t, x.id, x.version, tenant.Platform, who)
	default: // take-virtuous
		return "done", rv.ResolveAll(ctx, t, x.id, x.version, tenant.Virtuous, who)
	}
}

// bulkTally counts a bulk action's outcomes.
type bulkTally struct {
	done, pending, skipped, missing int
	last                            string
	// status answers an action that changed no row: the last row's
	// refusal, or 404 when no row was found.
	status int
}

func (b *bulkTally) add(what string) {
	if what == "pending" {
		b.pending++
	} else {
		b.done++
	}
}

// note counts an expected failure (and keeps its words); false for a fault.
func (b *bulkTally) note(err error) bool {
	if errors.Is(err, derrors.NotFound) {
		b.missing++
		if b.status == 0 {
			b.status = http.StatusNotFound
		}
		return true
	}
	status, msg, ok := refusalOf(err)
	if ok {
		b.skipped++
		b.last, b.status = msg, status
	}
	return ok
}

func (b *bulkTally) words(action string, n int) (kind, text string) {
	var s string
	switch action {
	case "check":
		s = fmt.Sprintf("Checked %s: %d confirmed, %d still waiting in the Import tool.", records(n), b.done, b.pending)
	case "discard":
		s = fmt.Sprintf("Discarded %s.", records(b.done))
	case "retry":
		s = fmt.Sprintf("Sent %s again; they are pending and will be submitted in a moment.", records(b.done))
	case "keep-platform":
		s = fmt.Sprintf("Resolved %s, keeping the platform's values.", records(b.done))
	default:
		s = fmt.Sprintf("Resolved %s, taking Virtuous' values.", records(b.done))
	}
	kind = "ok"
	if b.skipped > 0 || b.missing > 0 {
		kind = "info"
	}
	return kind, s + b.leftOut()
}

// leftOut says which rows were not acted on, and why.
func (b *bulkTally) leftOut() string {
	var s string
	if b.skipped > 0 {
		s += fmt.Sprintf(" %s left alone: %s", records(b.skipped), b.last)
	}
	if b.missing > 0 {
		s += fmt.Sprintf(" %s not found in this tenant.", records(b.missing))
	}
	return s
}

func records(n int) string {
	if n == 1 {
		return "1 record"
	}
	return strconv.Itoa(n) + " records"
}
