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
	pc := store.PlatformChange{
		SourceRef: p.SourceRef, SourceMeta: p.SourceMeta, ExtSource: p.ExtSource, ExtID: p.ExtID,
		Payload: p.Payload, PayloadSHA: p.PayloadSHA, DonorName: p.DonorName, DonorEmail: p.DonorEmail,
		AmountMinor: p.Amount, Currency: p.Currency, GiftDate: p.GiftDate, At: now,
		DriftDirty: cur.Status == record.Confirmed || cur.Status == record.Conflict,
	}
	if err := s.Store.UpdatePayload(ctx, tx, t.ID, cur.ID, pc); err != nil {
		return "", err
	}
	details := audit.Details(map[string]any{"outcome": out, "before_sha": fmt.Sprintf("%x", cur.PayloadSHA[:6]), "after_sha": fmt.Sprintf("%x", p.PayloadSHA[:6])})
	if out == Resubmitted {
		zero := 0
		if _, err := s.Store.Transition(ctx, tx, store.Transition{
			TenantID: t.ID, RecordID: cur.ID, From: []record.Status{record.Failed}, To: record.Pending, At: now,
			Set:   store.Columns{Attempts: &zero},
			Audit: audit.Entry{Actor: audit.ActorPlatform, Action: "intake.resubmitted", Category: audit.CatIntake, Details: details},
		}); err != nil {
			return "", err
		}
		return out, s.enqueue(ctx, tx, t, cur.ID)
	}
	_, err := s.Store.AppendAudit(ctx, tx, &audit.Entry{
		TenantID: t.ID, RecordID: &cur.ID, At: now, Actor: audit.ActorPlatform, Action: "intake." + string(out),
		Category: audit.CatIntake, FromStatus: string(cur.Status), ToStatus: string(cur.Status), Details: details,
	})
	return out, err
}
