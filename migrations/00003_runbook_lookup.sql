-- +goose Up

-- The missing-record runbook finds a record by its reference at the source
-- (Stripe payment, Eventbrite order) or by its transaction id, in any
-- status: without these, each lookup would read the whole records table.
CREATE INDEX records_source_ref ON records (tenant_id, source_ref);
CREATE INDEX records_ext_id ON records (tenant_id, ext_id);

-- +goose Down
DROP INDEX records_ext_id;
DROP INDEX records_source_ref;
