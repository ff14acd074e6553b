-- +goose Up

-- Plans that statistics cannot turn (docs/decisions.md). Row-level
-- security adds `tenant_id = portage_current_tenant()` to every statement
-- on contacts, and the planner estimates it with the tenant's own value
-- against the statistics of tenant_id: a tenant the last ANALYZE did not
-- see, or one that then held a contact or two, is believed to hold one row
-- however many it holds. A lookup of one key or id then ties the index
-- made for it with a tenant index that walks all of the tenant's contacts,
-- and loses (60 s for one 5,000-row chunk into a 100,000-contact tenant;
-- an undo that never moved). Without statistics on tenant_id the planner
-- believes a tenant holds a 200th of the table (all of it while it is
-- smaller than 200 rows): never one row once the table matters, whatever
-- ANALYZE saw and whenever it ran. Statistics a table already holds are
-- removed by changing the column to its own type (no rewrite), which the
-- policy on it must step aside for.
ALTER TABLE contacts ALTER COLUMN tenant_id SET STATISTICS 0;
DROP POLICY tenant_isolation ON contacts;
ALTER TABLE contacts ALTER COLUMN tenant_id TYPE uuid;
CREATE POLICY tenant_isolation ON contacts
  USING (tenant_id = portage_current_tenant()) WITH CHECK (tenant_id = portage_current_tenant());

-- An export reads a tenant's contacts in id order: this index can hand
-- them over in that order, where the (tenant_id, created_at) index it
-- replaces could only have them sorted after. (With a tenant believed a
-- 200th of the table the planner may still prefer a bitmap scan and a
-- sort: measured in memory at 100,000 contacts, 49 ms against the index's
-- 71.) A filter on created_at is a filter over the tenant's contacts, which
-- an export reads anyway.
CREATE INDEX idx_contacts_tenant_id ON contacts (tenant_id, id);
DROP INDEX idx_contacts_tenant_created;

-- +goose Down
CREATE INDEX idx_contacts_tenant_created ON contacts (tenant_id, created_at);
DROP INDEX idx_contacts_tenant_id;
ALTER TABLE contacts ALTER COLUMN tenant_id SET STATISTICS -1;
ANALYZE contacts;
