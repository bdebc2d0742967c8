package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"

	"backstop/internal/derrors"
	"backstop/internal/record"
)

// QueueStatuses are the statuses a person works: the three queues.
var QueueStatuses = []record.Status{record.NeedsReview, record.Conflict, record.Failed}

// QueueCountCap bounds the queue counts: a count above it is reported as
// QueueCountCap+1 ("10,000+"), so a page never counts a queue of 200,000
// records to draw a tab. Queues near zero, the healthy case, are exact.
const QueueCountCap = 10_000

// QueueCounts counts each tenant's records in each queue, up to
// QueueCountCap+1. Each count is one bounded index-only scan.
func (s *Store) QueueCounts(ctx context.Context, tenantIDs []int64) (_ map[int64]map[record.Status]int, err error) {
	defer derrors.Wrap(&err, "Store.QueueCounts(ctx)")
	var rows []struct {
		TenantID int64         `db:"tenant_id"`
		Status   record.Status `db:"status"`
		N        int           `db:"n"`
	}
	const q = `
		SELECT t.id AS tenant_id, st.status,
		       (SELECT count(*) FROM (SELECT 1 FROM records r
		                              WHERE r.tenant_id = t.id AND r.status = st.status
		                              LIMIT $2) capped) AS n
		FROM unnest($1::bigint[]) AS t (id),
		     unnest('{needs_review,conflict,failed}'::text[]) AS st (status)`
	if err := s.db.SelectContext(ctx, &rows, q, pq.Array(tenantIDs), QueueCountCap+1); err != nil {
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

// QueueSort orders a queue page.
type QueueSort string

const (
	SortOldest     QueueSort = "oldest" // waiting longest first (the default)
	SortNewest     QueueSort = "newest"
	SortAmountDesc QueueSort = "amount-desc"
	SortAmountAsc  QueueSort = "amount-asc"
	SortDateDesc   QueueSort = "date-desc" // gift date
	SortDateAsc    QueueSort = "date-asc"
)

// QueueSorts lists the orders in the order a page offers them.
var QueueSorts = []QueueSort{SortOldest, SortNewest, SortAmountDesc, SortAmountAsc, SortDateDesc, SortDateAsc}

// sortKey is the column a sort reads, its type for a cursor's cast, and
// its direction.
func (s QueueSort) key() (col, typ string, desc, nullable bool) {
	switch s {
	case SortNewest:
		return "age_at", "timestamptz", true, false
	case SortAmountDesc:
		return "amount_minor", "bigint", true, true
	case SortAmountAsc:
		return "amount_minor", "bigint", false, true
	case SortDateDesc:
		return "gift_date", "date", true, true
	case SortDateAsc:
		return "gift_date", "date", false, true
	}
	return "age_at", "timestamptz", false, false
}

// Valid reports whether s is a known sort.
func (s QueueSort) Valid() bool {
	for _, k := range QueueSorts {
		if s == k {
			return true
		}
	}
	return false
}

// QueueQuery selects one page of a queue.
type QueueQuery struct {
	TenantID int64
	Status   record.Status
	Source   record.Source // "" for every source
	// AgeBefore and AgeFrom bound age_at (when the record was submitted, or
	// created if it never was): age_at < AgeBefore, age_at >= AgeFrom.
	AgeBefore, AgeFrom   *time.Time
	AmountMin, AmountMax *int64 // minor units, inclusive
	// Search is free text matched, as a substring ignoring case, against the
	// donor's name and email, the reference, the transaction id and the
	// platform id (the records_search trigram index).
	Search string
	Sort   QueueSort
	// After or Before (at most one) continues from a cursor: keyset
	// pagination, as fast on page 1,000 as on page 1.
	After, Before *QueueCursor
	Limit         int
}

// QueueCursor is a position in a queue: the sort value of a row (nil when
// the row has none, e.g. a contact's amount) and its id.
type QueueCursor struct {
	Value *string `json:"v"`
	ID    int64   `json:"i"`
}

// String encodes c for a URL.
func (c *QueueCursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseQueueCursor decodes a cursor made by String.
func ParseQueueCursor(s string) (*QueueCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var c QueueCursor
	if err != nil || json.Unmarshal(b, &c) != nil || c.ID <= 0 {
		return nil, derrors.Invalid("page", "not a page of this queue; start again from the first page")
	}
	return &c, nil
}

// QueuePage is one page of a queue with the cursors around it.
type QueuePage struct {
	Rows []*record.Record
	Next *QueueCursor // set when rows follow
	Prev *QueueCursor // set when rows precede
}

// queueColumns are what a queue row shows: no bodies.
const queueColumns = `
	id, tenant_id, kind, platform_id, source, source_ref, source_meta, ext_source, ext_id,
	status, donor_name, donor_email, amount_minor, currency, gift_date, virtuous_id,
	virtuous_contact_id, created_at, platform_updated_at, updated_at, submitted_at,
	confirmed_at, last_sync_at, attempts, last_error, version, age_at`

// Queue returns one page of a queue. A sort on a column some rows lack
// (amount, gift date) puts those rows last in ascending order and first in
// descending order, as PostgreSQL's index order does, and pages through
// them by id; each part is one index range scan.
func (s *Store) Queue(ctx context.Context, q QueueQuery) (_ *QueuePage, err error) {
	defer derrors.Wrap(&err, "Store.Queue(ctx, %s)", q.Status)
	if q.Limit <= 0 || q.Limit > 500 {
		q.Limit = 50
	}
	_, _, desc, _ := q.Sort.key()
	if q.Before != nil {
		rows, err := s.queueScan(ctx, q, !desc, q.Before, q.Limit+1)
		if err != nil {
			return nil, err
		}
		if len(rows) <= q.Limit { // near the start: show a full first page
			q.Before = nil
			return s.Queue(ctx, q)
		}
		rows = rows[:q.Limit]
		slices.Reverse(rows)
		return &QueuePage{Rows: rows, Prev: q.cursorOf(rows[0]), Next: q.cursorOf(rows[len(rows)-1])}, nil
	}
	rows, err := s.queueScan(ctx, q, desc, q.After, q.Limit+1)
	if err != nil {
		return nil, err
	}
	p := &QueuePage{Rows: rows}
	if len(rows) > q.Limit {
		p.Rows = rows[:q.Limit]
		p.Next = q.cursorOf(p.Rows[q.Limit-1])
	}
	if q.After != nil && len(p.Rows) > 0 {
		p.Prev = q.cursorOf(p.Rows[0])
	}
	return p, nil
}

// queueScan reads up to limit rows after cur, in descending or ascending
// order: for ascending, rows with a value then rows without; descending is
// the exact reverse, so reading "before" a cursor is a descending scan.
func (s *Store) queueScan(ctx context.Context, q QueueQuery, desc bool, cur *QueueCursor, limit int) ([]*record.Record, error) {
	_, _, _, nullable := q.Sort.key()
	parts := []bool{false} // false: rows with a value; true: rows without
	if nullable {
		parts = []bool{false, true}
		if desc {
			parts = []bool{true, false}
		}
	}
	if cur != nil { // start in the part the cursor is in
		for len(parts) > 1 && parts[0] != (cur.Value == nil) {
			parts = parts[1:]
		}
	}
	var out []*record.Record
	for i, nulls := range parts {
		c := cur
		if i > 0 {
			c = nil
		}
		rows, err := s.queuePart(ctx, q, desc, nulls, c, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if len(out) >= limit {
			break
		}
	}
	return out, nil
}

func (s *Store) queuePart(ctx context.Context, q QueueQuery, desc, nulls bool, cur *QueueCursor, limit int) ([]*record.Record, error) {
	stmt, args := q.partSQL(desc, nulls, cur, limit)
	var rows []*record.Record
	if err := s.db.SelectContext(ctx, &rows, stmt, args...); err != nil {
		return nil, classify(err)
	}
	return rows, nil
}

// partSQL is one part of a page: rows with a value (or without, nulls)
// after cur, in order.
func (q QueueQuery) partSQL(desc, nulls bool, cur *QueueCursor, limit int) (string, []any) {
	col, typ, _, nullable := q.Sort.key()
	w, args := q.filters()
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	op, dir := ">", "ASC"
	if desc {
		op, dir = "<", "DESC"
	}
	order := col + " " + dir + ", id " + dir
	switch {
	case nulls:
		w = append(w, col+" IS NULL")
		order = "id " + dir
		if cur != nil {
			w = append(w, "id "+op+" "+arg(cur.ID))
		}
	case cur != nil && cur.Value != nil:
		w = append(w, "("+col+", id) "+op+" ("+arg(*cur.Value)+"::"+typ+", "+arg(cur.ID)+")")
	case nullable:
		w = append(w, col+" IS NOT NULL")
	}
	return `SELECT ` + queueColumns + ` FROM records WHERE ` + strings.Join(w, " AND ") +
		` ORDER BY ` + order + ` LIMIT ` + arg(limit), args
}

// ExplainQueue runs EXPLAIN ANALYZE on the first query of q's page, for
// the benchmark and for an operator asking why a queue is slow.
func (s *Store) ExplainQueue(ctx context.Context, q QueueQuery) (_ string, err error) {
	defer derrors.Wrap(&err, "Store.ExplainQueue(ctx)")
	if q.Limit <= 0 {
		q.Limit = 50
	}
	_, _, desc, nullable := q.Sort.key()
	cur, nulls := q.After, nullable && desc // descending starts with the rows without a value
	if cur != nil {
		nulls = cur.Value == nil
	}
	stmt, args := q.partSQL(desc, nulls, cur, q.Limit+1)
	var lines []string
	if err := s.db.SelectContext(ctx, &lines, `EXPLAIN (ANALYZE, BUFFERS) `+stmt, args...); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}

// filters are the WHERE terms every part of a page shares. The constant
// status list lets the planner use the queues' partial indexes.
func (q QueueQuery) filters() ([]string, []any) {
	w := []string{"tenant_id = $1", "status = $2", "status IN ('needs_review', 'conflict', 'failed')"}
	args := []any{q.TenantID, q.Status}
	add := func(term string, v any) {
		args = append(args, v)
		w = append(w, strings.ReplaceAll(term, "?", "$"+strconv.Itoa(len(args))))
	}
	if q.Source != "" {
		add("source = ?", q.Source)
	}
	if q.AgeBefore != nil {
		add("age_at < ?", q.AgeBefore.UTC())
	}
	if q.AgeFrom != nil {
		add("age_at >= ?", q.AgeFrom.UTC())
	}
	if q.AmountMin != nil {
		add("amount_minor >= ?", *q.AmountMin)
	}
	if q.AmountMax != nil {
		add("amount_minor <= ?", *q.AmountMax)
	}
	if s := strings.TrimSpace(q.Search); s != "" {
		add("search_text LIKE ?", "%"+likeEscaper.Replace(strings.ToLower(s))+"%")
	}
	return w, args
}

// likeEscaper makes % and _ (and the escape character) match themselves.
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// cursorOf is the position of r in q's order.
func (q QueueQuery) cursorOf(r *record.Record) *QueueCursor {
	col, _, _, _ := q.Sort.key()
	var v *string
	switch col {
	case "age_at":
		s := r.AgeAt.UTC().Format(time.RFC3339Nano)
		v = &s
	case "amount_minor":
		if r.AmountMinor != nil {
			s := strconv.FormatInt(*r.AmountMinor, 10)
			v = &s
		}
	case "gift_date":
		if r.GiftDate != nil {
			s := r.GiftDate.Format("2006-01-02")
			v = &s
		}
	}
	return &QueueCursor{Value: v, ID: r.ID}
}

// OpenConflictDiffs returns the open conflict's differing fields of each
// record in ids (records without one are absent).
func (s *Store) OpenConflictDiffs(ctx context.Context, tenantID int64, ids []int64) (_ map[int64][]record.Diff, err error) {
	defer derrors.Wrap(&err, "Store.OpenConflictDiffs(ctx)")
	var rows []ConflictRow
	q := `SELECT ` + conflictColumns + ` FROM conflicts
		WHERE tenant_id = $1 AND record_id = ANY($2) AND resolved_at IS NULL`
	if err := s.db.SelectContext(ctx, &rows, q, tenantID, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[int64][]record.Diff, len(rows))
	for i := range rows {
		out[rows[i].RecordID] = rows[i].Diffs()
	}
	return out, nil
}
