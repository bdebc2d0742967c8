package review

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/inbound"
	"backstop/internal/record"
	"backstop/internal/tenant"
)

// BatchWindow is the spec's 48 hours: a Transaction submitted more
// recently may still be waiting for Virtuous' nightly batch.
const BatchWindow = 48 * time.Hour

// Step is the runbook's next step for one record.
type Step string

const (
	StepInAgreement Step = "in_agreement" // both sides have it
	StepApply       Step = "apply"        // in Virtuous, missing or unconfirmed here: apply it now
	StepRetry       Step = "retry"        // in Virtuous, but failed here
	StepConflict    Step = "conflict"     // both have it and disagree
	StepQueued      Step = "queued"       // pending: not sent yet
	StepWait        Step = "wait"         // submitted inside the batch window
	StepNeedsUpdate Step = "needs_update" // 404 long after submission
	StepFailed      Step = "failed"       // refused, not in Virtuous
	StepDiscarded   Step = "discarded"
	StepGone        Step = "gone"    // confirmed here, no longer found there
	StepUnknown     Step = "unknown" // neither side knows it
)

// Finding is what the runbook learned about one record (or reference).
type Finding struct {
	// Record is Backstop's record; nil when Backstop has none.
	Record *record.Record
	// Kind, Source and Ref are the key looked up in Virtuous.
	Kind        record.Kind
	Source, Ref string
	// Found: Virtuous has it (Virtuous is its object); LookupErr says why
	// Virtuous could not be asked.
	Found     bool
	Virtuous  *inbound.Object
	LookupErr string
	Step      Step
	Advice    string
}

// Runbook is the result of one search.
type Runbook struct {
	Query    string
	Findings []Finding
	// ByReference: Backstop had no record, so Virtuous was asked for the
	// query as a transaction (or reference) id under the tenant's sources.
	ByReference bool
}

// maxLookups bounds the live lookups of one search.
const maxLookups = 5

// Run is the spec's "End-to-end reconciliation runbook" for a customer's
// report of a missing record: find Backstop's record by platform id,
// reference, transaction id or email; look it up in Virtuous by its
// external reference; say the next step. With no record on Backstop's
// side, the query is looked up in Virtuous as a reference.
func (s *Service) Run(ctx context.Context, t *tenant.Tenant, q string) (*Runbook, error) {
	q = strings.TrimSpace(q)
	rb := &Runbook{Query: q}
	if q == "" {
		return rb, nil
	}
	recs, err := s.Store.FindRecords(ctx, t.ID, q, 10)
	if err != nil {
		return nil, err
	}
	now := s.Now().UTC()
	for i, r := range recs {
		f := Finding{Record: r, Kind: r.Kind, Source: r.ExtSource, Ref: r.ExtID}
		if i < maxLookups {
			s.ask(ctx, t, &f)
		} else {
			f.LookupErr = "Not looked up: narrow the search to see Virtuous' answer."
		}
		f.Step, f.Advice = NextStep(r, f.Found, f.Virtuous, now)
		if f.LookupErr != "" && f.Step != StepDiscarded {
			f.Step, f.Advice = "", f.LookupErr+" The next step depends on Virtuous' answer."
		}
		rb.Findings = append(rb.Findings, f)
	}
	if len(recs) > 0 || strings.Contains(q, "@") || strings.ContainsAny(q, "/\\ ") {
		if len(recs) == 0 {
			rb.Findings = append(rb.Findings, Finding{Step: StepUnknown, Advice: "Backstop has no record with this email. Virtuous is looked up by reference: search for the Stripe or Eventbrite reference or the transaction id instead."})
		}
		return rb, nil
	}
	rb.ByReference = true
	rb.Findings = append(rb.Findings, s.byReference(ctx, t, q))
	return rb, nil
}

// ask looks f's key up in Virtuous, keeping a failure as words.
func (s *Service) ask(ctx context.Context, t *tenant.Tenant, f *Finding) {
	obj, found, err := s.lookup(ctx, t, f.Kind, f.Source, f.Ref)
	if err != nil {
		f.LookupErr = err.Error()
		return
	}
	f.Found, f.Virtuous = found, obj
}

// byReference asks Virtuous for q under each of the tenant's transaction
// sources, gifts first, and stops at the first it has.
func (s *Service) byReference(ctx context.Context, t *tenant.Tenant, q string) Finding {
	var tried []string
	for _, kind := range []record.Kind{record.Gift, record.Contact} {
		seen := map[string]bool{}
		for _, src := range []record.Source{record.Stripe, record.Eventbrite, record.Other} {
			source := t.TransactionSource(src)
			if seen[source] {
				continue
			}
			seen[source] = true
			f := Finding{Kind: kind, Source: source, Ref: q}
			s.ask(ctx, t, &f)
			if f.LookupErr != "" {
				f.Advice = f.LookupErr
				return f
			}
			if f.Found {
				f.Step, f.Advice = NextStep(nil, true, f.Virtuous, s.Now())
				return f
			}
			tried = append(tried, string(kind)+" "+source+"/"+q)
		}
	}
	return Finding{Ref: q, Step: StepUnknown, Advice: "Neither Backstop nor Virtuous knows this reference (Virtuous was asked for " +
		strings.Join(tried, ", ") + "). The platform has not sent it: ask the platform team to send it to Backstop through the partner API."}
}

// NextStep is the runbook's decision for rec (nil: Backstop has no record)
// given whether Virtuous has it, in words a customer's staff can act on.
func NextStep(rec *record.Record, found bool, obj *inbound.Object, now time.Time) (Step, string) {
	what := "it"
	if obj != nil {
		what = fmt.Sprintf("%s %d", obj.Kind, obj.VirtuousID)
	}
	if rec == nil {
		if found {
			return StepApply, "Virtuous has " + what + " but Backstop has no record of it: a missed webhook. Apply it now: Backstop runs it through the inbound handler that webhooks use, records the recovery in the audit trail and puts it on the changes feed for the platform."
		}
		return StepUnknown, "Neither Backstop nor Virtuous knows it. The platform has not sent it: ask the platform team to send it to Backstop through the partner API."
	}
	age := now.Sub(rec.AgeAt)
	switch rec.Status {
	case record.Discarded:
		return StepDiscarded, "It was discarded on Backstop's side and is not synced; its timeline says who discarded it and why."
	case record.Confirmed:
		if found {
			return StepInAgreement, "Both sides have it: Virtuous holds " + what + " and Backstop has it confirmed. If the platform still lacks it, it is on the changes feed for the platform to pick up."
		}
		return StepGone, "Backstop has it confirmed, but Virtuous no longer finds it by its reference: it may have been deleted or merged in Virtuous. Check the gift or contact in Virtuous."
	case record.Conflict:
		return StepConflict, "Both sides have it but disagree about some fields. Resolve the conflict on the record page."
	}
	if found {
		switch rec.Status {
		case record.Submitted, record.NeedsReview:
			return StepApply, "Virtuous has " + what + ", but Backstop never learned of it (the webhook was lost). Apply it now: the inbound handler confirms the record and the audit trail records the recovery."
		case record.Failed:
			return StepRetry, "Virtuous has " + what + " although Backstop's submission failed. Retry it: Virtuous dedupes on the transaction source and id, so no second gift is made, and reconciliation then confirms it."
		}
		return StepQueued, "Virtuous already has " + what + "; Backstop is about to send it (pending) and will confirm it after."
	}
	switch rec.Status {
	case record.Pending:
		return StepQueued, fmt.Sprintf("Backstop has it but has not sent it yet (pending, %d attempts so far). It will be submitted shortly.", rec.Attempts)
	case record.Failed:
		return StepFailed, "Virtuous refused it. Fix it from the failed queue: Retry, or Edit and retry."
	case record.Submitted:
		if age < BatchWindow {
			return StepWait, "Wait. It was submitted " + hours(age) + " ago, inside the 48-hour window: the Transaction may still be waiting for Virtuous' nightly batch."
		}
	}
	return StepNeedsUpdate, "Suspect the needs-update bucket: Virtuous still has no " + string(rec.Kind) + " for it " + hours(age) +
		" after submission. Ask the customer's Virtuous admin to check the Import tool (Match Needed / Update Needed); once they resolve it, the webhook confirms it here."
}

func hours(d time.Duration) string {
	if d < 2*time.Hour {
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	}
	if d < 72*time.Hour {
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// Applied is what applying from the runbook did.
type Applied struct {
	VirtuousID int64
	RecordID   *int64
	Outcome    string // confirmed, virtuous_only, updated, unchanged
}

// Apply is the runbook's last step: a record that Virtuous has and
// Backstop lacks (or never confirmed) is looked up again, live — what the
// page showed is not trusted — and applied through the inbound handler,
// with the recovery in the audit trail naming the person.
func (s *Service) Apply(ctx context.Context, t *tenant.Tenant, kind record.Kind, source, ref, actor string) (*Applied, error) {
	if !kind.Valid() || strings.TrimSpace(source) == "" || strings.TrimSpace(ref) == "" {
		return nil, derrors.Invalid("", "say which gift or contact to apply")
	}
	obj, found, err := s.lookup(ctx, t, kind, source, ref)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, derrors.Invalid("", "Virtuous no longer has %s %s/%s; nothing was applied", kind, source, ref)
	}
	out := &Applied{VirtuousID: obj.VirtuousID}
	via := inbound.Via{ConfirmedVia: record.ViaManual, Actor: actor, Category: audit.CatMissed, Note: "applied from the missing-record runbook"}
	err = s.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		res, err := s.Engine.Inbound.ApplyTx(ctx, tx, t.ID, kind, []inbound.Object{*obj}, via)
		if err != nil {
			return err
		}
		switch {
		case len(res.Confirmed) > 0:
			out.Outcome = "confirmed"
		case res.VirtuousOnly > 0:
			out.Outcome = "virtuous_only"
		case res.Updated > 0 || res.Deleted > 0:
			out.Outcome = "updated"
		default:
			out.Outcome = "unchanged"
		}
		if r, err := s.Store.RecordByExternalKey(ctx, tx, t.ID, kind, source, ref); err == nil {
			out.RecordID = &r.ID
		} else if !errors.Is(err, derrors.NotFound) {
			return err
		}
		_, err = s.Store.AppendAudit(ctx, tx, &audit.Entry{
			TenantID: t.ID, RecordID: out.RecordID, At: s.Now().UTC(), Actor: actor, Action: "runbook.applied", Category: audit.CatMissed,
			Details: audit.Details(map[string]any{"kind": kind, "source": source, "id": ref, "virtuous_id": obj.VirtuousID, "outcome": out.Outcome}),
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
