-- +goose Up
-- Row-level security lets an index serve a condition only when the
-- condition's functions are leakproof, and lower() and btrim() are not: the
-- expression index on lower(btrim(email)) could never serve a lookup by
-- match key made as portage_app, so every chunk read all of its tenant's
-- contacts to find its matches. email_key holds the same key in a column,
-- which plain equality (leakproof) reaches through the index. It is derived
-- data, not part of a contact: snapshots and exports leave it out.
ALTER TABLE contacts ADD COLUMN email_key TEXT GENERATED ALWAYS AS (lower(btrim(email))) STORED;
DROP INDEX idx_contacts_tenant_email_live;
CREATE UNIQUE INDEX idx_contacts_tenant_email_live
  ON contacts (tenant_id, email_key)
  WHERE deleted_at IS NULL AND email IS NOT NULL;

-- +goose Down
DROP INDEX idx_contacts_tenant_email_live;
ALTER TABLE contacts DROP COLUMN email_key;
CREATE UNIQUE INDEX idx_contacts_tenant_email_live
  ON contacts (tenant_id, lower(btrim(email)))
  WHERE deleted_at IS NULL AND email IS NOT NULL;
