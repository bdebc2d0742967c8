// Package review is what a person does to a record from the dashboard, each
// action one status transition with an audit row naming them: check
// Virtuous now or discard a needs-review record; resolve a conflict field by
// field; retry, edit and retry, or discard a failed record; and the
// missing-record runbook's lookups and recovery. It holds no SQL and no
// HTTP: handlers in package web call it, it calls the store, the
// reconciliation engine and intake.
package review

import (
	"time"

	"backstop/internal/intake"
	"backstop/internal/reconcile"
	"backstop/internal/store"
)

// Service carries out review actions for any tenant.
type Service struct {
	Store  *store.Store
	Engine *reconcile.Engine
	Intake *intake.Service
	Now    func() time.Time
}
