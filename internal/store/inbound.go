package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/lib/pq"

	"backstop/internal/audit"
	"backstop/internal/derrors"
	"backstop/internal/record"
)

// lockRecordsFor is two lookups joined by UNION (an OR across them would
// make the planner scan every record of the tenant), each one index probe
// per key: the LATERAL subqueries with OFFSET 0 cannot be flattened into a
// join, so the plan does not depend on statistics. It did: a missed pass
// after a webhook outage confirms records whose virtuous_id the last
// ANALYZE saw as all NULL, and the planner, believing records_virtuous_id
// empty, read the tenant's whole slice of it for every page and filtered
// the ids (34 of a page's 40 ms at 57,000 confirmed, growing with each
// page); probed per id the same lookup took 4 ms.
const lockRecordsFor = `
		SELECT ` + recordColumns + `
		FROM records
		WHERE id IN (
			SELECT r.id FROM unnest($3::text[], $4::text[]) AS k(src, ext)
			CROSS JOIN LATERAL (SELECT r.id FROM records r
				WHERE r.tenant_id = $1 AND r.kind = $2 AND r.ext_id = k.ext AND r.ext_source = k.src OFFSET 0) r
			UNION
			SELECT r.id FROM unnest($5::bigint[]) AS v(id)
			CROSS JOIN LATERAL (SELECT r.id FROM records r
				WHERE r.tenant_id = $1 AND r.kind = $2 AND r.virtuous_id = v.id OFFSET 0) r)
		ORDER BY id
		FOR UPDATE`

// LockRecordsFor reads, for update and in id order (so concurrent batches
// lock in the same order and never deadlock), the records of kind matching
// any of the external keys or Virtuous ids.
func (s *Store) LockRecordsFor(ctx context.Context, tx Querier, tenantID int64, kind record.Kind, extSources, extIDs []string, virtuousIDs []int64) (_ []*record.Record, err error) {
	defer derrors.Wrap(&err, "Store.LockRecordsFor(ctx, %s, %d keys, %d ids)", kind, len(extIDs), len(virtuousIDs))
	var rs []*record.Record
	if err := tx.SelectContext(ctx, &rs, lockRecordsFor, tenantID, kind, pq.Array(extSources), pq.Array(extIDs), pq.Array(virtuousIDs)); err != nil {
		return nil, err
	}
	return rs, nil
}

// Snapshot is the Virtuous side of a record as last seen, and whether
// seeing it confirms the record.
type Snapshot struct {
	RecordID   int64
	VirtuousID int64
	ContactID  *int64
	Values     json.RawMessage
	ModifiedAt time.Time
	Deleted    bool
	DriftDirty bool
	// Confirm moves a submitted or needs_review record to confirmed, with
	// an audit row carrying Details.
	Confirm bool
	Details json.RawMessage
}

// ApplySnapshots stores many snapshots in one statement and, for those
// marked Confirm, moves the record from submitted or needs_review to
// confirmed with its audit row — a compare-and-set on status, so a record
// found in any other state keeps it. One UPDATE per record (not a snapshot
// update and then a transition) halves the index work of a Query page.
//
// Snapshots do not bump versions: the platform's body did not change, and
// a replayed or reordered delivery must leave the state of one in order.
// The records must already be locked by the caller's transaction.
func (s *Store) ApplySnapshots(ctx context.Context, tx Querier, tenantID int64, at time.Time, via record.ConfirmedVia, a audit.Entry, snaps []Snapshot) (_ []int64, err error) {
	defer derrors.Wrap(&err, "Store.ApplySnapshots(ctx, %d)", len(snaps))
	if len(snaps) == 0 {
		return nil, nil
	}
	n := len(snaps)
	ids, vids, cids := make([]int64, n), make([]int64, n), make([]*int64, n)
	vals, details, mods := make([]string, n), make([]string, n), make([]time.Time, n)
	deleted, dirty, confirm := make([]bool, n), make([]bool, n), make([]bool, n)
	for i, sn := range snaps {
		ids[i], vids[i], cids[i] = sn.RecordID, sn.VirtuousID, sn.ContactID
		vals[i], mods[i], deleted[i], dirty[i] = string(jsonOrEmpty(sn.Values)), sn.ModifiedAt.UTC(), sn.Deleted, sn.DriftDirty
		confirm[i], details[i] = sn.Confirm, string(jsonOrEmpty(sn.Details))
	}
	const q = `
		WITH input AS (
			SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::bigint[], $6::jsonb[], $7::timestamptz[],
			                     $8::bool[], $9::bool[], $10::bool[], $11::jsonb[])
			         AS i(id, vid, cid, vals, mod, deleted, dirty, confirm, details)
		), old AS (
			SELECT r.id, r.status,
			       (input.confirm AND r.status IN ('submitted', 'needs_review')) AS confirms
			FROM records r JOIN input ON input.id = r.id
			WHERE r.tenant_id = $1
		), upd AS (
			UPDATE records r
			SET virtuous_id = i.vid,
			    virtuous_contact_id = coalesce(i.cid, r.virtuous_contact_id),
			    virtuous_data = i.vals,
			    virtuous_modified_at = i.mod,
			    virtuous_deleted_at = CASE WHEN i.deleted THEN coalesce(r.virtuous_deleted_at, $2) ELSE r.virtuous_deleted_at END,
			    drift_dirty = i.dirty,
			    last_sync_at = $2,
			    status = CASE WHEN old.confirms THEN 'confirmed' ELSE r.status END,
			    version = CASE WHEN old.confirms THEN r.version + 1 ELSE r.version END,
			    confirmed_at = CASE WHEN old.confirms THEN $2 ELSE r.confirmed_at END,
			    confirmed_via = CASE WHEN old.confirms THEN $12 ELSE r.confirmed_via END,
			    updated_at = CASE WHEN old.confirms THEN $2 ELSE r.updated_at END
			FROM input i, old
			WHERE r.id = i.id AND old.id = r.id AND r.tenant_id = $1
			RETURNING r.id, old.status AS from_status, old.confirms, i.details
		), logged AS (
			INSERT INTO audit_log (tenant_id, record_id, at, actor, action, category, from_status, to_status, details)
			SELECT $1, upd.id, $2, $13, $14, $15, upd.from_status, 'confirmed', upd.details
			FROM upd WHERE upd.confirms
		)
		SELECT id FROM upd WHERE confirms ORDER BY id`
	var moved []int64
	err = tx.SelectContext(ctx, &moved, q, tenantID, at.UTC(), pq.Array(ids), pq.Array(vids), int64PtrArray(cids),
		pq.Array(vals), pq.Array(mods), pq.Array(deleted), pq.Array(dirty), pq.Array(confirm), pq.Array(details),
		via, a.Actor, a.Action, a.Category)
	return moved, err
}

// ChangeRow is one object for the changes feed.
type ChangeRow struct {
	Kind       record.Kind
	VirtuousID int64
	Change     string
	RecordID   *int64
	PlatformID string
	ModifiedAt time.Time
	Data       json.RawMessage
}

// UpsertChanges puts objects on the changes feed. A row is replaced (and
// moves forward in the feed) only by a newer version or by a deletion, so
// the feed ends the same whatever order versions arrive in.
func (s *Store) UpsertChanges(ctx context.Context, tx Querier, tenantID int64, at time.Time, rows []ChangeRow) (err error) {
	defer derrors.Wrap(&err, "Store.UpsertChanges(ctx, %d)", len(rows))
	if len(rows) == 0 {
		return nil
	}
	n := len(rows)
	kinds, changes, pids, datas := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	vids, rids, mods := make([]int64, n), make([]*int64, n), make([]time.Time, n)
	for i, r := range rows {
		kinds[i], vids[i], changes[i], rids[i] = string(r.Kind), r.VirtuousID, r.Change, r.RecordID
		pids[i], mods[i], datas[i] = r.PlatformID, r.ModifiedAt.UTC(), string(jsonOrEmpty(r.Data))
	}
	const q = `
		INSERT INTO changes (tenant_id, kind, virtuous_id, change, record_id, platform_id, modified_at, data, updated_at)
		SELECT $1, i.kind, i.vid, i.change, i.rid, i.pid, i.mod, i.data, $2
		FROM unnest($3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::timestamptz[], $9::jsonb[])
		     AS i(kind, vid, change, rid, pid, mod, data)
		ON CONFLICT (tenant_id, kind, virtuous_id) DO UPDATE
		SET change = EXCLUDED.change, record_id = coalesce(EXCLUDED.record_id, changes.record_id),
		    platform_id = CASE WHEN EXCLUDED.platform_id <> '' THEN EXCLUDED.platform_id ELSE changes.platform_id END,
		    modified_at = EXCLUDED.modified_at, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at,
		    txid = pg_current_xact_id()
		WHERE changes.modified_at IS NULL OR EXCLUDED.modified_at > changes.modified_at
		   OR (EXCLUDED.change = 'deleted' AND changes.change <> 'deleted')`
	_, err = tx.ExecContext(ctx, q, tenantID, at.UTC(), pq.Array(kinds), pq.Array(vids), pq.Array(changes),
		int64PtrArray(rids), pq.Array(pids), pq.Array(mods), pq.Array(datas))
	return err
}

// VirtuousContact is a cached Virtuous contact.
type VirtuousContact struct {
	ContactID  int64           `db:"contact_id"`
	MergedInto *int64          `db:"merged_into"`
	ModifiedAt *time.Time      `db:"modified_at"`
	Data       json.RawMessage `db:"data"`
}

// UpsertVirtuousContacts caches contacts, newer versions winning, and
// returns the ids whose cached version changed.
func (s *Store) UpsertVirtuousContacts(ctx context.Context, tx Querier, tenantID int64, cs []VirtuousContact) (_ []int64, err error) {
	defer derrors.Wrap(&err, "Store.UpsertVirtuousContacts(ctx, %d)", len(cs))
	if len(cs) == 0 {
		return nil, nil
	}
	n := len(cs)
	ids, merged, mods, datas := make([]int64, n), make([]*int64, n), make([]*time.Time, n), make([]string, n)
	for i, c := range cs {
		ids[i], merged[i], mods[i], datas[i] = c.ContactID, c.MergedInto, c.ModifiedAt, string(jsonOrEmpty(c.Data))
	}
	const q = `
		INSERT INTO virtuous_contacts (tenant_id, contact_id, merged_into, modified_at, data)
		SELECT $1, i.id, i.merged, i.mod, i.data
		FROM unnest($2::bigint[], $3::bigint[], $4::timestamptz[], $5::jsonb[]) AS i(id, merged, mod, data)
		ON CONFLICT (tenant_id, contact_id) DO UPDATE
		SET merged_into = EXCLUDED.merged_into, modified_at = EXCLUDED.modified_at, data = EXCLUDED.data
		WHERE virtuous_contacts.modified_at IS NULL OR EXCLUDED.modified_at > virtuous_contacts.modified_at
		RETURNING contact_id`
	var changed []int64
	err = tx.SelectContext(ctx, &changed, q, tenantID, pq.Array(ids), int64PtrArray(merged), timePtrArray(mods), pq.Array(datas))
	return changed, err
}

// VirtuousContacts returns cached contacts by id.
func (s *Store) VirtuousContacts(ctx context.Context, q Querier, tenantID int64, ids []int64) (_ map[int64]*VirtuousContact, err error) {
	defer derrors.Wrap(&err, "Store.VirtuousContacts(ctx, %d)", len(ids))
	var cs []*VirtuousContact
	if err := q.SelectContext(ctx, &cs, `
		SELECT contact_id, merged_into, modified_at, data FROM virtuous_contacts
		WHERE tenant_id = $1 AND contact_id = ANY($2::bigint[])`, tenantID, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[int64]*VirtuousContact, len(cs))
	for _, c := range cs {
		out[c.ContactID] = c
	}
	return out, nil
}

// lockGiftsOfContacts probes records_virtuous_contact once per contact, for
// the reason lockRecordsFor does.
const lockGiftsOfContacts = `
		SELECT ` + recordColumns + ` FROM records
		WHERE id IN (
			SELECT r.id FROM unnest($2::bigint[]) AS c(id)
			CROSS JOIN LATERAL (SELECT r.id FROM records r
				WHERE r.tenant_id = $1 AND r.kind = 'gift' AND r.virtuous_contact_id = c.id OFFSET 0) r)
		ORDER BY id FOR UPDATE`

// LockGiftsOfContacts reads, for update, the confirmed-or-conflicted gift
// records whose Virtuous contact is one of ids.
func (s *Store) LockGiftsOfContacts(ctx context.Context, tx Querier, tenantID int64, ids []int64) (_ []*record.Record, err error) {
	defer derrors.Wrap(&err, "Store.LockGiftsOfContacts(ctx, %d)", len(ids))
	var rs []*record.Record
	if err := tx.SelectContext(ctx, &rs, lockGiftsOfContacts, tenantID, pq.Array(ids)); err != nil {
		return nil, err
	}
	return rs, nil
}

// SetDriftDirty sets each record's drift flag.
func (s *Store) SetDriftDirty(ctx context.Context, tx Querier, tenantID int64, ids []int64, dirty []bool) (err error) {
	defer derrors.Wrap(&err, "Store.SetDriftDirty(ctx, %d)", len(ids))
	if len(ids) == 0 {
		return nil
	}
	_, err = tx.ExecContext(ctx, `
		UPDATE records r SET drift_dirty = i.dirty
		FROM unnest($2::bigint[], $3::bool[]) AS i(id, dirty)
		WHERE r.tenant_id = $1 AND r.id = i.id`, tenantID, pq.Array(ids), pq.Array(dirty))
	return err
}

// RepointContact moves gift records from a merged-away Virtuous contact to
// the one it was merged into (there is no merge endpoint to ask later).
func (s *Store) RepointContact(ctx context.Context, tx Querier, tenantID, from, into int64) (err error) {
	defer derrors.Wrap(&err, "Store.RepointContact(ctx, %d → %d)", from, into)
	_, err = tx.ExecContext(ctx, `
		UPDATE records SET virtuous_contact_id = $3
		WHERE tenant_id = $1 AND kind = 'gift' AND virtuous_contact_id = $2`, tenantID, from, into)
	return err
}

// AppendAudits adds many entries in one statement, skipping dedupe-key repeats.
func (s *Store) AppendAudits(ctx context.Context, tx Querier, es []audit.Entry) (err error) {
	defer derrors.Wrap(&err, "Store.AppendAudits(ctx, %d)", len(es))
	if len(es) == 0 {
		return nil
	}
	n := len(es)
	tids, rids := make([]int64, n), make([]*int64, n)
	ats := make([]time.Time, n)
	actors, actions, cats, froms, tos, details, keys := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]*string, n)
	for i, e := range es {
		tids[i], rids[i], ats[i] = e.TenantID, e.RecordID, e.At.UTC()
		actors[i], actions[i], cats[i], froms[i], tos[i] = e.Actor, e.Action, e.Category, e.FromStatus, e.ToStatus
		details[i], keys[i] = string(jsonOrEmpty(e.Details)), e.DedupeKey
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO audit_log (tenant_id, record_id, at, actor, action, category, from_status, to_status, details, dedupe_key)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
		                     $7::text[], $8::text[], $9::jsonb[], $10::text[])
		ON CONFLICT (tenant_id, dedupe_key) DO NOTHING`,
		pq.Array(tids), int64PtrArray(rids), pq.Array(ats), pq.Array(actors), pq.Array(actions), pq.Array(cats),
		pq.Array(froms), pq.Array(tos), pq.Array(details), stringPtrArray(keys))
	return err
}
