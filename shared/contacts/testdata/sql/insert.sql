WITH ins AS (
	INSERT INTO contacts (id, tenant_id, workspace_id, email, first_name, last_name, phone, company, job_title, website, street, city, region, postal_code, country, tags, custom_fields, created_at, updated_at)
	SELECT x.id, $4, x.workspace_id, x.email, x.first_name, x.last_name, x.phone, x.company, x.job_title, x.website, x.street, x.city, x.region, x.postal_code, x.country, x.tags::text[], x.custom_fields::jsonb, now(), now()
	FROM unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[]) AS x(id, workspace_id, email, first_name, last_name, phone, company, job_title, website, street, city, region, postal_code, country, tags, custom_fields))
INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
SELECT e.id, $1, e.contact_id, 'created', NULL, e.data::jsonb, now() AT TIME ZONE 'UTC'
FROM unnest($2::uuid[], $5::uuid[], string_to_array($3, E'\n')) AS e(id, contact_id, data)
