-- +goose Up

-- The custom fields a tenant's contacts hold, by name: what the page offers
-- to export and names in review, without reading every contact to find
-- them. A chunk adds the names of the custom fields it writes (a name is
-- never removed: an undone import's fields stay known). Filled here from
-- the contacts already stored, for every tenant (row-level security is
-- lifted for the owner for this transaction only).
CREATE TABLE custom_fields (
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);
ALTER TABLE custom_fields ENABLE ROW LEVEL SECURITY;
ALTER TABLE custom_fields FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON custom_fields
  USING (tenant_id = portage_current_tenant()) WITH CHECK (tenant_id = portage_current_tenant());
GRANT SELECT, INSERT ON custom_fields TO portage_app;

ALTER TABLE contacts NO FORCE ROW LEVEL SECURITY;
ALTER TABLE custom_fields NO FORCE ROW LEVEL SECURITY;
INSERT INTO custom_fields (tenant_id, name)
  SELECT DISTINCT c.tenant_id, k.name
  FROM contacts c, jsonb_object_keys(c.custom_fields) AS k(name)
  WHERE c.deleted_at IS NULL AND c.custom_fields <> '{}'
  ON CONFLICT DO NOTHING;
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
ALTER TABLE custom_fields FORCE ROW LEVEL SECURITY;

-- +goose Down
DROP TABLE custom_fields;
