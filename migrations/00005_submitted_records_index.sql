-- +goose Up

-- The stuck pass pages through a tenant's submitted records in id order
-- (StuckCandidates). Without an index in that order the planner walked the
-- primary key and filtered: on 100,000 records of which 1,000 were still
-- submitted, the first page read 99,000 rows (200 ms), and a pass read
-- every record of the tenant, confirmed or not. This partial index holds
-- only submitted records, so a pass reads what it looks up.
CREATE INDEX records_submitted ON records (tenant_id, id) WHERE status = 'submitted';

-- +goose Down
DROP INDEX records_submitted;
