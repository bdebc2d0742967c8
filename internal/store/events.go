package store

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lib/pq"

	"backstop/internal/derrors"
)

// InboundEvent is a webhook delivery as received.
type InboundEvent struct {
	ID         int64      `db:"id"`
	TenantID   int64      `db:"tenant_id"`
	DedupeKey  string     `db:"dedupe_key"`
	Event      string     `db:"event"`
	ObjectKind string     `db:"object_kind"`
	VirtuousID *int64     `db:"virtuous_id"`
	ModifiedAt *time.Time `db:"modified_at"`
	Body       []byte     `db:"body"`
	ReceivedAt time.Time  `db:"received_at"`
	AppliedAt  *time.Time `db:"applied_at"`
	Outcome    string     `db:"outcome"`
}

// insertEvents is the ingest statement, prepared (see Store.prepared):
// at one delivery per webhook it runs thousands of times a second.
const insertEvents = `
		INSERT INTO inbound_events (tenant_id, dedupe_key, event, object_kind, virtuous_id, modified_at, body, received_at)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::bytea[], $8::timestamptz[])
		ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
		RETURNING id, tenant_id, dedupe_key`

// InsertInboundEvents stores a batch of deliveries in one statement, in a
// transaction of its own, and returns, for each, whether it was new (false:
// its dedupe key was stored before). Keys must be distinct within the batch.
func (s *Store) InsertInboundEvents(ctx context.Context, es []*InboundEvent) (_ []bool, err error) {
	defer derrors.Wrap(&err, "Store.InsertInboundEvents(ctx, %d)", len(es))
	st, err := s.prepared(ctx, insertEvents)
	if err != nil {
		return nil, err
	}
	a := arraysPool.Get().(*binaryArrays)
	rows, err := st.QueryContext(ctx, inboundEventArrays(a, es)...)
	// lib/pq has copied the arrays into its message once the query is
	// sent. A buffer grown by a batch of large bodies is left to the GC.
	if cap(a.b) <= 1<<20 {
		arraysPool.Put(a)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type k struct {
		t int64
		s string
	}
	index := make(map[k]int, len(es))
	for i, e := range es {
		index[k{e.TenantID, e.DedupeKey}] = i
	}
	out := make([]bool, len(es))
	for rows.Next() {
		var c k
		var id int64
		if err := rows.Scan(&id, &c.t, &c.s); err != nil {
			return nil, err
		}
		if i, ok := index[c]; ok {
			es[i].ID, out[i] = id, true
		}
	}
	return out, rows.Err()
}

// arraysPool keeps the buffers of the ingest statement's arguments, which
// would otherwise be a batch's largest allocation.
var arraysPool = sync.Pool{New: func() any { return new(binaryArrays) }}

// inboundEventArrays are insertEvents' arguments, one array per column,
// written to a.
func inboundEventArrays(a *binaryArrays, es []*InboundEvent) []any {
	size := 8 * 24
	for _, e := range es {
		size += len(e.Body) + len(e.DedupeKey) + len(e.Event) + len(e.ObjectKind) + 8*12
	}
	a.b = slices.Grow(a.b[:0], size)
	n := len(es)
	return []any{
		a.array(oidInt8, n, func(i int) { a.int8(es[i].TenantID) }),
		a.array(oidText, n, func(i int) { a.text(es[i].DedupeKey) }),
		a.array(oidText, n, func(i int) { a.text(es[i].Event) }),
		a.array(oidText, n, func(i int) { a.text(es[i].ObjectKind) }),
		a.array(oidInt8, n, func(i int) {
			if v := es[i].VirtuousID; v != nil {
				a.int8(*v)
			} else {
				a.null()
			}
		}),
		a.array(oidTimestamptz, n, func(i int) {
			if t := es[i].ModifiedAt; t != nil {
				a.timestamptz(*t)
			} else {
				a.null()
			}
		}),
		a.array(oidBytea, n, func(i int) { a.bytes(es[i].Body) }),
		a.array(oidTimestamptz, n, func(i int) { a.timestamptz(es[i].ReceivedAt) }),
	}
}

// UnappliedEvents locks up to limit of a tenant's stored deliveries not yet
// applied, oldest first, skipping any another worker holds.
func (s *Store) UnappliedEvents(ctx context.Context, q Querier, tenantID int64, limit int) (_ []*InboundEvent, err error) {
	defer derrors.Wrap(&err, "Store.UnappliedEvents(ctx, %d)", tenantID)
	var es []*InboundEvent
	err = q.SelectContext(ctx, &es, `
		SELECT id, tenant_id, dedupe_key, event, object_kind, virtuous_id, modified_at, body,
		       received_at, applied_at, outcome
		FROM inbound_events
		WHERE tenant_id = $1 AND applied_at IS NULL
		ORDER BY id LIMIT $2
		FOR UPDATE SKIP LOCKED`, tenantID, limit)
	return es, err
}

// MarkEventsApplied records a batch of deliveries as applied.
func (s *Store) MarkEventsApplied(ctx context.Context, q Querier, ids []int64, outcomes []string, at time.Time) (err error) {
	defer derrors.Wrap(&err, "Store.MarkEventsApplied(ctx, %d)", len(ids))
	_, err = q.ExecContext(ctx, `
		UPDATE inbound_events e SET applied_at = $3, outcome = i.outcome
		FROM unnest($1::bigint[], $2::text[]) AS i(id, outcome)
		WHERE e.id = i.id`, pq.Array(ids), pq.Array(outcomes), at.UTC())
	return err
}

// TenantsWithUnappliedEvents lists tenants with deliveries waiting to be applied.
func (s *Store) TenantsWithUnappliedEvents(ctx context.Context) (_ []int64, err error) {
	defer derrors.Wrap(&err, "Store.TenantsWithUnappliedEvents(ctx)")
	var ids []int64
	// A loose index scan over the partial index: one probe per tenant.
	err = s.db.SelectContext(ctx, &ids, `
		WITH RECURSIVE t AS (
			(SELECT tenant_id FROM inbound_events WHERE applied_at IS NULL ORDER BY tenant_id LIMIT 1)
			UNION ALL
			SELECT (SELECT tenant_id FROM inbound_events WHERE applied_at IS NULL AND tenant_id > t.tenant_id ORDER BY tenant_id LIMIT 1)
			FROM t WHERE t.tenant_id IS NOT NULL)
		SELECT tenant_id FROM t WHERE tenant_id IS NOT NULL`)
	return ids, err
}
