package review

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/inbound"
	"backstop/internal/reconcile"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/tenant"
)

// lookupTimeout bounds a person's wait for Virtuous.
const lookupTimeout = 20 * time.Second

// maxReason bounds a discard reason.
const maxReason = 500

// CheckResult is what "Check Virtuous now" found.
type CheckResult struct {
	Found      bool
	VirtuousID int64
	// Confirmed: the record moved to confirmed (false if something else
	// confirmed it between the page and the click).
	Confirmed bool
}

// UnavailableError says Virtuous could not be asked (no budget left, an
// outage, a refused key); nothing was changed.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string {
	if errors.Is(e.Err, derrors.BudgetExhausted) {
		return "Backstop has used its share of this hour's Virtuous API calls; try again later. Nothing was changed."
	}
	if errors.Is(e.Err, context.DeadlineExceeded) {
		return "Virtuous did not answer in time; try again in a moment. Nothing was changed."
	}
	return "Virtuous could not be asked: " + e.Err.Error() + ". Nothing was changed."
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// CheckNow is "Check Virtuous now" on a needs-review record: the stuck
// pass's lookup, made now. Found, the record is confirmed through the
// inbound handler, with an audit row naming the person; not found, the
// check itself is audited and the record stays where it is. version is
// the record version the person saw, as for every other action: a record
// that changed since is left for them to look at again.
func (s *Service) CheckNow(ctx context.Context, t *tenant.Tenant, id, version int64, actor string) (*CheckResult, error) {
	rec, err := s.Store.Record(ctx, s.Store.DB(), t.ID, id)
	if err != nil {
		return nil, err
	}
	if rec.Status != record.NeedsReview {
		return nil, &store.TransitionError{RecordID: id, Current: rec.Status, To: record.Confirmed}
	}
	if rec.Version != version {
		return nil, &store.TransitionError{RecordID: id, Current: rec.Status, To: record.Confirmed, Version: rec.Version}
	}
	obj, found, err := s.lookup(ctx, t, rec.Kind, rec.ExtSource, rec.ExtID)
	if err != nil {
		return nil, err
	}
	if !found {
		_, err := s.Store.AppendAudit(ctx, s.Store.DB(), &audit.Entry{
			TenantID: t.ID, RecordID: &rec.ID, At: s.Now().UTC(), Actor: actor, Action: "review.checked",
			Category: audit.CatReview, FromStatus: string(rec.Status), ToStatus: string(rec.Status),
			Details: audit.Details(map[string]any{"found": false, "source": rec.ExtSource, "id": rec.ExtID}),
		})
		return &CheckResult{}, err
	}
	res, err := s.Engine.Inbound.Apply(ctx, t.ID, rec.Kind, []inbound.Object{*obj}, inbound.Via{
		ConfirmedVia: record.ViaLookup, Actor: actor, Category: audit.CatReview,
		Note: "found by a live lookup from the dashboard",
	})
	if err != nil {
		return nil, err
	}
	return &CheckResult{Found: true, VirtuousID: obj.VirtuousID, Confirmed: slices.Contains(res.Confirmed, id)}, nil
}

// lookup asks Virtuous through the engine, within lookupTimeout, and
// turns a failure to ask into an UnavailableError.
func (s *Service) lookup(ctx context.Context, t *tenant.Tenant, kind record.Kind, source, id string) (*inbound.Object, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	obj, found, err := s.Engine.Lookup(ctx, t, kind, source, id)
	if err != nil {
		return nil, false, &UnavailableError{Err: err}
	}
	return obj, found, nil
}

// Discard gives up on a needs-review or failed record, with the person's
// reason in the audit trail. version is the record version they saw.
func (s *Service) Discard(ctx context.Context, t *tenant.Tenant, id, version int64, reason, actor string) error {
	reason, err := DiscardReason(reason)
	if err != nil {
		return err
	}
	_, err = s.Store.Transition(ctx, s.Store.DB(), store.Transition{
		TenantID: t.ID, RecordID: id, From: []record.Status{record.NeedsReview, record.Failed}, To: record.Discarded,
		Version: version, At: s.Now().UTC(),
		Audit: audit.Entry{Actor: actor, Action: "review.discarded", Category: audit.CatReview,
			Details: audit.Details(map[string]string{"reason": reason})},
	})
	return err
}

// DiscardReason is a discard's reason as the audit trail keeps it, or what
// is wrong with it. Its length is counted in characters, as the form's
// maxlength counts them, not in bytes.
func DiscardReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", derrors.Invalid("reason", "say why the record is discarded; the reason goes into the audit trail")
	case utf8.RuneCountInString(reason) > maxReason:
		return "", derrors.Invalid("reason", "keep the reason to %d characters", maxReason)
	}
	return reason, nil
}

// Retry sends a failed record again as it is.
func (s *Service) Retry(ctx context.Context, t *tenant.Tenant, id, version int64, actor string) error {
	return s.Intake.Retry(ctx, t, id, version, actor)
}

// Resolve applies a person's per-field choices to a conflict. Two people
// resolving at once: one wins; the other gets an AlreadyResolvedError
// naming who, and nothing is applied twice.
func (s *Service) Resolve(ctx context.Context, t *tenant.Tenant, id, version int64, choices map[record.Field]tenant.Side, actor string) error {
	return s.Engine.ResolveConflict(ctx, t, id, version, choices, actor, s.Now().UTC())
}

// ResolveAll resolves every field of a conflict to one side (the bulk action).
func (s *Service) ResolveAll(ctx context.Context, t *tenant.Tenant, id, version int64, side tenant.Side, actor string) error {
	c, err := s.Store.OpenConflictDiffs(ctx, t.ID, []int64{id})
	if err != nil {
		return err
	}
	choices := map[record.Field]tenant.Side{}
	for _, d := range c[id] {
		choices[d.Field] = side
	}
	return s.Resolve(ctx, t, id, version, choices, actor)
}

// Describe turns an action's error into words for the person who acted,
// and whether it is one of the expected outcomes (someone else moved the
// record, a wrong input, Virtuous unavailable) rather than a fault.
func Describe(err error) (string, bool) {
	var ar *reconcile.AlreadyResolvedError
	var te *store.TransitionError
	var ue *UnavailableError
	var fe *derrors.FieldError
	switch {
	case errors.As(err, &ar):
		return fmt.Sprintf("This conflict was already resolved by %s at %s. Nothing was applied twice.",
			ActorName(ar.By), ar.At.UTC().Format("2006-01-02 15:04 UTC")), true
	case errors.As(err, &te):
		if te.Version != 0 {
			return fmt.Sprintf("This record changed since you opened it (it is now %s). Nothing was changed; look at it again.", statusWords(te.Current)), true
		}
		return fmt.Sprintf("This record is %s now, so that action no longer applies. Nothing was changed.", statusWords(te.Current)), true
	case errors.As(err, &ue):
		return ue.Error(), true
	case errors.As(err, &fe):
		return fe.Msg, true
	case errors.Is(err, derrors.WrongState), errors.Is(err, derrors.InvalidArgument):
		return derrors.Public(err), true
	}
	return "", false
}

func statusWords(s record.Status) string {
	return strings.ReplaceAll(string(s), "_", " ")
}

// ActorName is an audit actor as a person reads it: a user's email, or
// what the system part is called.
func ActorName(actor string) string {
	if e, ok := strings.CutPrefix(actor, "user:"); ok {
		return e
	}
	switch actor {
	case audit.ActorPlatform:
		return "the platform"
	case audit.ActorSubmit:
		return "submission"
	case audit.ActorWebhook:
		return "a Virtuous webhook"
	case audit.ActorReconcile:
		return "reconciliation"
	case audit.ActorReport:
		return "the daily report"
	case audit.ActorEscalate:
		return "escalation"
	}
	return actor
}
