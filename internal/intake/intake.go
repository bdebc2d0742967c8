// Package intake accepts records from the partner platform: it validates a
// body, creates or updates the record, and enqueues its submission in the same
// transaction, so a record is never pending without a job to send it.
package intake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/jobs"
	"backstop/internal/record"
	"backstop/internal/store"
	"backstop/internal/submit"
	"backstop/internal/tenant"
)

// Service handles intake for every tenant.
type Service struct {
	Store *store.Store
	Jobs  jobs.Inserter
	Now   func() time.Time
}

// Outcome says what a PUT did.
type Outcome string

const (
	Created        Outcome = "created"         // new record, pending, submission enqueued
	Unchanged      Outcome = "unchanged"       // same body as before: nothing written
	Updated        Outcome = "updated"         // pending record's body replaced before it was sent
	Resubmitted    Outcome = "resubmitted"     // failed record with a new body: back to pending
	PlatformChange Outcome = "platform_change" // body changed after submission: kept for the drift pass
)

// Put creates or updates one record from the platform's body.
func (s *Service) Put(ctx context.Context, t *tenant.Tenant, kind record.Kind, platformID string, body []byte) (*record.Record, Outcome, error) {
	p, err := record.ParseIntake(kind, platformID, body, record.Defaults{TransactionSource: t.TransactionSource})
	if err != nil {
		return nil, "", err
	}
	now := s.Now().UTC()
	var rec *record.Record
	var out Outcome
	err = s.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := s.Store.LockRecordByPlatformID(ctx, tx, t.ID, kind, platformID)
		switch {
		case errors.Is(err, derrors.NotFound):
			out = Created
			rec, err = s.create(ctx, tx, t, platformID, p, now)
			return err
		case err != nil:
			return err
		}
		out, err = s.change(ctx, tx, t, cur, p, now)
		if err != nil {
			return err
		}
		rec, err = s.Store.Record(ctx, tx, t.ID, cur.ID)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	return rec, out, nil
}

func (s *Service) create(ctx context.Context, tx *sqlx.Tx, t *tenant.Tenant, platformID string, p *record.Parsed, now time.Time) (*record.Record, error) {
	r := &record.Record{
		TenantID: t.ID, Kind: p.Kind, PlatformID: platformID, Source: p.Source, SourceRef: p.SourceRef,
		SourceMeta: p.SourceMeta, ExtSource: p.ExtSource, ExtID: p.ExtID, Status: record.Pending,
		Payload: p.Payload, PayloadSHA: p.PayloadSHA, DonorName: p.DonorName, DonorEmail: p.DonorEmail,
		AmountMinor: p.Amount, Currency: p.Currency, GiftDate: p.GiftDate, CreatedAt: now,
	}
	id, err := s.Store.InsertRecord(ctx, tx, r)
	if err != nil {
		return nil, err
	}
	if _, err := s.Store.AppendAudit(ctx, tx, &audit.Entry{
		TenantID: t.ID, RecordID: &id, At: now, Actor: audit.ActorPlatform, Action: "intake.created",
		Category: audit.CatIntake, ToStatus: string(record.Pending),
		Details: audit.Details(map[string]string{"transaction_source": p.ExtSource, "transaction_id": p.ExtID}),
	}); err != nil {
		return nil, err
	}
	if err := s.enqueue(ctx, tx, t, id); err != nil {
		return nil, err
	}
	return s.Store.Record(ctx, tx, t.ID, id)
}

func (s *Service) enqueue(ctx context.Context, tx *sqlx.Tx, t *tenant.Tenant, id int64) error {
	_, err := s.Jobs.InsertTx(ctx, tx.Tx, submit.Args{TenantID: t.ID, RecordID: id}, submit.InsertOpts(t.SubmitMaxAttempts))
	if err != nil {
		return fmt.Errorf("enqueue submission of record %d: %w", id, err)
	}
	return nil
}

// change applies a new body to an existing record according to where the
// record is in its life.
func (s *Service) change(ctx context.Context, tx *sqlx.Tx, t *tenant.Tenant, cur *record.Record, p *record.Parsed, now time.Time) (Outcome, error) {
	if bytes.Equal(cur.PayloadSHA, p.PayloadSHA) && cur.SourceRef == p.SourceRef && cur.Source == p.Source {
		return Unchanged, nil
	}
	if cur.Source != p.Source {
		return "", derrors.Invalid("source", "record %s was taken from %s; its source cannot change to %s", cur.PlatformID, cur.Source, p.Source)
	}
	keyChanged := cur.ExtSource != p.ExtSource || cur.ExtID != p.ExtID
	if keyChanged && cur.Status != record.Pending && cur.Status != record.Failed {
		return "", fmt.Errorf("%w: record %s was already sent to Virtuous as %s/%s; its transaction source and id cannot change",
			derrors.WrongState, cur.PlatformID, cur.ExtSource, cur.ExtID)
	}
	if cur.Status == record.Discarded {
		return "", fmt.Errorf("%w: record %s was discarded; a discarded record is not synced again", derrors.WrongState, cur.PlatformID)
	}
	var out Outcome
	switch cur.Status {
	case record.Pending:
		out = Updated
	case record.Failed:
		out = Resubmitted
	default:
		out = PlatformChange
	}
	if err := s.Store.UpdatePayload(ctx, tx, t.ID, cur.ID, platformChange(p, now, cur.Status == record.Confirmed || cur.Status == record.Conflict)); err != nil {
		return "", err
	}
	details := audit.Details(map[string]any{"outcome": out, "before_sha": shortSHA(cur.PayloadSHA), "after_sha": shortSHA(p.PayloadSHA)})
	if out == Resubmitted {
		return out, s.resubmit(ctx, tx, t, cur.ID, 0, now, audit.Entry{Actor: audit.ActorPlatform, Action: "intake.resubmitted", Category: audit.CatIntake, Details: details})
	}
	_, err := s.Store.AppendAudit(ctx, tx, &audit.Entry{
		TenantID: t.ID, RecordID: &cur.ID, At: now, Actor: audit.ActorPlatform, Action: "intake." + string(out),
		Category: audit.CatIntake, FromStatus: string(cur.Status), ToStatus: string(cur.Status), Details: details,
	})
	return out, err
}

// platformChange is a new body for the store. dirty asks the drift pass to
// compare the record again (it was already confirmed).
func platformChange(p *record.Parsed, now time.Time, dirty bool) store.PlatformChange {
	return store.PlatformChange{
		SourceRef: p.SourceRef, SourceMeta: p.SourceMeta, ExtSource: p.ExtSource, ExtID: p.ExtID,
		Payload: p.Payload, PayloadSHA: p.PayloadSHA, DonorName: p.DonorName, DonorEmail: p.DonorEmail,
		AmountMinor: p.Amount, Currency: p.Currency, GiftDate: p.GiftDate, At: now, DriftDirty: dirty,
	}
}

func shortSHA(sum []byte) string { return fmt.Sprintf("%x", sum[:min(6, len(sum))]) }

// resubmit moves a failed record back to pending with its attempts reset
// and enqueues its submission in tx, so it is never pending without a job.
// version, when non-zero, must be the record's (a person acting on what
// they saw). a is the audit entry that names who and why.
func (s *Service) resubmit(ctx context.Context, tx *sqlx.Tx, t *tenant.Tenant, id, version int64, now time.Time, a audit.Entry) error {
	zero := 0
	if _, err := s.Store.Transition(ctx, tx, store.Transition{
		TenantID: t.ID, RecordID: id, From: []record.Status{record.Failed}, To: record.Pending, Version: version, At: now,
		Set: store.Columns{Attempts: &zero}, Audit: a,
	}); err != nil {
		return err
	}
	return s.enqueue(ctx, tx, t, id)
}

// Retry is a person's "Retry" of a failed record: back to pending and
// resubmitted as it is. Virtuous dedupes Transactions on their source and
// id, so a retry never makes a second gift.
func (s *Service) Retry(ctx context.Context, t *tenant.Tenant, id, version int64, actor string) error {
	return s.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		return s.resubmit(ctx, tx, t, id, version, s.Now().UTC(),
			audit.Entry{Actor: actor, Action: "review.retried", Category: audit.CatReview})
	})
}

// Correct is a person's "Edit and retry": body (a whole intake body, as
// the platform would PUT it) replaces a failed record's, validated exactly
// as the partner API validates, and the record is resubmitted. version is
// the one the person edited; fields name what they changed, for the audit
// trail. Invalid input is a FieldError and writes nothing.
func (s *Service) Correct(ctx context.Context, t *tenant.Tenant, id, version int64, body []byte, actor string, fields []string) error {
	cur, err := s.Store.Record(ctx, s.Store.DB(), t.ID, id)
	if err != nil {
		return err
	}
	p, err := record.ParseIntake(cur.Kind, cur.PlatformID, body, record.Defaults{TransactionSource: t.TransactionSource})
	if err != nil {
		return err
	}
	now := s.Now().UTC()
	return s.Store.InTx(ctx, func(tx *sqlx.Tx) error {
		locked, err := s.Store.LockRecord(ctx, tx, t.ID, id)
		if err != nil {
			return err
		}
		if locked.Status != record.Failed || locked.Version != version {
			te := &store.TransitionError{RecordID: id, Current: locked.Status, To: record.Pending}
			if locked.Version != version {
				te.Version = locked.Version
			}
			return te
		}
		if p.ExtSource != locked.ExtSource || p.ExtID != locked.ExtID || p.Source != locked.Source {
			return derrors.Invalid("transaction", "an edit cannot change the record's source or transaction id")
		}
		if err := s.Store.UpdatePayload(ctx, tx, t.ID, id, platformChange(p, now, false)); err != nil {
			return err
		}
		return s.resubmit(ctx, tx, t, id, 0, now, audit.Entry{Actor: actor, Action: "review.edited", Category: audit.CatReview,
			Details: audit.Details(map[string]any{"fields": fields, "before_sha": shortSHA(locked.PayloadSHA), "after_sha": shortSHA(p.PayloadSHA)})})
	})
}
