package store

import (
	"context"

	"github.com/lib/pq"

	"backstop/internal/derrors"
	"backstop/internal/record"
)

// QueueStatuses are the statuses a person works: the three queues.
var QueueStatuses = []record.Status{record.NeedsReview, record.Conflict, record.Failed}

// QueueCounts counts each tenant's records in each queue.
func (s *Store) QueueCounts(ctx context.Context, tenantIDs []int64) (_ map[int64]map[record.Status]int, err error) {
	defer derrors.Wrap(&err, "Store.QueueCounts(ctx)")
	var rows []struct {
		TenantID int64         `db:"tenant_id"`
		Status   record.Status `db:"status"`
		N        int           `db:"n"`
	}
	const q = `
		SELECT tenant_id, status, count(*) AS n
		FROM records
		WHERE tenant_id = ANY($1) AND status IN ('needs_review', 'conflict', 'failed')
		GROUP BY tenant_id, status`
	if err := s.db.SelectContext(ctx, &rows, q, pq.Array(tenantIDs)); err != nil {
		return nil, err
	}
	out := make(map[int64]map[record.Status]int, len(tenantIDs))
	for _, id := range tenantIDs {
		out[id] = map[record.Status]int{}
	}
	for _, r := range rows {
		out[r.TenantID][r.Status] = r.N
	}
	return out, nil
}
