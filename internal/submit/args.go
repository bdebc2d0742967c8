// Package submit drains pending records into Virtuous Transactions: one River
// job per record POSTs it, and its outcome moves the record to submitted or
// failed with an audit row.
package submit

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"backstop/internal/jobs"
)

// Args names the record to submit. The job reads the record when it runs, so
// a body the platform changed while the job waited is the one sent.
type Args struct {
	TenantID int64 `json:"tenant_id"`
	RecordID int64 `json:"record_id"`
}

// Kind is the River job kind.
func (Args) Kind() string { return "submit" }

// InsertOpts: one live submission job per record (a repeat enqueue while one
// waits or runs is a no-op), with the tenant's attempt budget.
func InsertOpts(maxAttempts int) *river.InsertOpts {
	return &river.InsertOpts{
		Queue:       jobs.QueueDefault,
		MaxAttempts: maxAttempts,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{
				rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
				rivertype.JobStateRetryable, rivertype.JobStateScheduled,
			},
		},
	}
}
