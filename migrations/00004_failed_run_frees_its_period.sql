-- +goose Up

-- A scheduled run took its period for good, even when it failed — an error
-- from Virtuous, or its worker killed mid-pass — so River's retry of the job
-- found the period taken and skipped the pass until the next period (up to
-- 12 hours later). A failed run now leaves its period to the retry; a run
-- that is running, finished, or stopped early for the rate budget keeps it.
-- Runs of one tenant's pass never overlap (the advisory lock in
-- internal/reconcile), so the retry cannot race the run it replaces.
DROP INDEX reconciliation_runs_once;
CREATE UNIQUE INDEX reconciliation_runs_once ON reconciliation_runs (tenant_id, pass, slot)
    WHERE slot <> '' AND status <> 'failed';

-- +goose Down
DROP INDEX reconciliation_runs_once;
CREATE UNIQUE INDEX reconciliation_runs_once ON reconciliation_runs (tenant_id, pass, slot) WHERE slot <> '';
