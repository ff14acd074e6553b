-- +goose Up

-- Tenancy. Every tenant-owned row carries tenant_id; row-level security keys on
-- the transaction-local setting portage.tenant_id (see portage_current_tenant).
CREATE TABLE tenants (
  id UUID PRIMARY KEY,
  name TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE workspaces (
  id UUID PRIMARY KEY,
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_workspaces_tenant ON workspaces(tenant_id);

CREATE TABLE users (
  id UUID PRIMARY KEY,
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  email TEXT,
  name TEXT NOT NULL DEFAULT '',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_users_tenant ON users(tenant_id);

-- Contacts are soft-deleted: import_events reference them with no ON DELETE and
-- are the audit trail. "The contacts" means the live ones (deleted_at IS NULL).
CREATE TABLE contacts (
  id UUID PRIMARY KEY,
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  workspace_id UUID REFERENCES workspaces(id),
  email TEXT,
  first_name TEXT,
  last_name TEXT,
  phone TEXT,
  company TEXT,
  job_title TEXT,
  website TEXT,
  street TEXT,
  city TEXT,
  region TEXT,
  postal_code TEXT,
  country TEXT,
  tags TEXT[] NOT NULL DEFAULT '{}',
  custom_fields JSONB NOT NULL DEFAULT '{}',
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  deleted_at TIMESTAMPTZ
);
-- The match key: unique per tenant among live contacts.
CREATE UNIQUE INDEX idx_contacts_tenant_email_live
  ON contacts (tenant_id, lower(btrim(email)))
  WHERE deleted_at IS NULL AND email IS NOT NULL;
CREATE INDEX idx_contacts_tenant_created ON contacts (tenant_id, created_at);
CREATE INDEX idx_contacts_tenant_updated ON contacts (tenant_id, updated_at);

-- The three job tables below are the seed's, column for column.

-- Import jobs tracking
CREATE TABLE import_jobs (
  id UUID PRIMARY KEY,
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  workspace_id UUID REFERENCES workspaces(id),

  -- File information
  file_name VARCHAR(255),
  file_size BIGINT,
  file_url TEXT,  -- S3 URL
  file_type VARCHAR(50),  -- csv, xlsx, json

  -- Import configuration
  field_mapping JSONB,
  import_options JSONB,  -- duplicate strategy, tags, etc.

  -- Status
  status VARCHAR(50),  -- pending, processing, completed, failed, rolled_back

  -- Results
  total_rows INTEGER,
  imported_count INTEGER DEFAULT 0,
  updated_count INTEGER DEFAULT 0,
  created_count INTEGER DEFAULT 0,
  skipped_count INTEGER DEFAULT 0,
  error_count INTEGER DEFAULT 0,

  -- Error details
  errors JSONB,  -- Array of row errors

  -- Progress tracking
  processed_rows INTEGER DEFAULT 0,
  started_at TIMESTAMP,
  completed_at TIMESTAMP,

  -- User tracking
  created_by UUID REFERENCES users(id),
  created_at TIMESTAMP DEFAULT NOW(),

  -- Rollback support
  can_rollback BOOLEAN DEFAULT TRUE,
  rolled_back_at TIMESTAMP
);

CREATE INDEX idx_import_jobs_tenant ON import_jobs(tenant_id);
CREATE INDEX idx_import_jobs_status ON import_jobs(status);
CREATE INDEX idx_import_jobs_created ON import_jobs(created_at);

-- Import events (for rollback)
CREATE TABLE import_events (
  id UUID PRIMARY KEY,
  import_job_id UUID NOT NULL REFERENCES import_jobs(id),
  contact_id UUID NOT NULL REFERENCES contacts(id),

  -- Event type
  event_type VARCHAR(50),  -- created, updated, skipped

  -- Snapshot of old data (for rollback)
  previous_data JSONB,
  new_data JSONB,

  created_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_import_events_job ON import_events(import_job_id);
CREATE INDEX idx_import_events_contact ON import_events(contact_id);

-- Export jobs
CREATE TABLE export_jobs (
  id UUID PRIMARY KEY,
  tenant_id UUID NOT NULL REFERENCES tenants(id),

  -- Export configuration
  export_type VARCHAR(50),  -- full, filtered, segment
  filters JSONB,
  selected_fields JSONB,

  -- Output
  file_format VARCHAR(50),  -- csv, xlsx, json
  file_url TEXT,  -- S3 URL
  file_size BIGINT,

  -- Status
  status VARCHAR(50),  -- pending, processing, completed, failed

  -- Results
  total_contacts INTEGER,

  -- Progress
  processed_contacts INTEGER DEFAULT 0,
  started_at TIMESTAMP,
  completed_at TIMESTAMP,
  expires_at TIMESTAMP,  -- Auto-delete after 7 days

  created_by UUID REFERENCES users(id),
  created_at TIMESTAMP DEFAULT NOW()
);

CREATE INDEX idx_export_jobs_tenant ON export_jobs(tenant_id);
CREATE INDEX idx_export_jobs_status ON export_jobs(status);

-- Added tables (DESIGN.md §4 allows them where the design needs them).

-- import_job_details holds what the pipeline needs beside the seed's columns:
-- where the prepared parts live, the error report and why a job failed.
CREATE TABLE import_job_details (
  import_job_id UUID PRIMARY KEY REFERENCES import_jobs(id),
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  source_key TEXT,
  manifest_key TEXT,
  error_report_key TEXT,
  chunk_count INTEGER,
  failure_reason TEXT,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- import_chunks is the idempotency record of the chunk step: a chunk whose row
-- exists has been applied, and its counters are returned instead of applying it
-- again. Finalize sums this table, never the state machine's Map output.
CREATE TABLE import_chunks (
  import_job_id UUID NOT NULL REFERENCES import_jobs(id),
  chunk_index INTEGER NOT NULL,
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  first_row INTEGER NOT NULL,
  last_row INTEGER NOT NULL,
  row_count INTEGER NOT NULL,
  created_count INTEGER NOT NULL DEFAULT 0,
  updated_count INTEGER NOT NULL DEFAULT 0,
  skipped_count INTEGER NOT NULL DEFAULT 0,
  error_count INTEGER NOT NULL DEFAULT 0,
  errors JSONB NOT NULL DEFAULT '[]',
  completed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (import_job_id, chunk_index)
);

-- segments are stored export filters.
CREATE TABLE segments (
  id UUID PRIMARY KEY,
  tenant_id UUID NOT NULL REFERENCES tenants(id),
  name TEXT NOT NULL,
  filters JSONB NOT NULL DEFAULT '{}',
  created_by UUID REFERENCES users(id),
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_segments_tenant ON segments(tenant_id);

-- Row-level security. The tenant comes from a transaction-local setting
-- (set_config('portage.tenant_id', $1, true)) so that RDS Proxy can keep
-- multiplexing; an unset setting matches nothing.
CREATE FUNCTION portage_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('portage.tenant_id', true), '')::uuid $$;

-- +goose StatementBegin
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['workspaces', 'users', 'contacts', 'import_jobs',
    'export_jobs', 'import_job_details', 'import_chunks', 'segments']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    -- FORCE: the owner (the migrating role) is bound too; only superusers and
    -- BYPASSRLS roles are not.
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = portage_current_tenant()) WITH CHECK (tenant_id = portage_current_tenant())', t);
  END LOOP;
END
$$;
-- +goose StatementEnd

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants
  USING (id = portage_current_tenant()) WITH CHECK (id = portage_current_tenant());

-- import_events has no tenant_id (it is the seed's); it belongs to its job's tenant.
ALTER TABLE import_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE import_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON import_events
  USING (EXISTS (SELECT 1 FROM import_jobs j
                 WHERE j.id = import_job_id AND j.tenant_id = portage_current_tenant()))
  WITH CHECK (EXISTS (SELECT 1 FROM import_jobs j
                      WHERE j.id = import_job_id AND j.tenant_id = portage_current_tenant()));

-- The application role the Lambdas use (through a login role granted it). It
-- does not own the tables and has no BYPASSRLS, so the policies above apply.
-- +goose StatementBegin
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'portage_app') THEN
    CREATE ROLE portage_app NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;
-- +goose StatementEnd
GRANT USAGE ON SCHEMA public TO portage_app;
GRANT SELECT, INSERT, UPDATE ON tenants, workspaces, users, contacts,
  import_jobs, import_events, export_jobs, import_job_details, import_chunks,
  segments TO portage_app;
GRANT EXECUTE ON FUNCTION portage_current_tenant() TO portage_app;

-- +goose Down
DROP TABLE segments, import_chunks, import_job_details, export_jobs,
  import_events, import_jobs, contacts, users, workspaces, tenants;
DROP FUNCTION portage_current_tenant();
