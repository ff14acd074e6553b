WITH upd AS (
	UPDATE contacts c SET first_name = x.first_name, last_name = x.last_name, phone = x.phone, company = x.company, job_title = x.job_title, website = x.website, street = x.street, city = x.city, region = x.region, postal_code = x.postal_code, country = x.country,
		tags = x.tags::text[], custom_fields = x.custom_fields::jsonb, updated_at = now()
	FROM unnest($5::uuid[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[]) AS x(id, workspace_id, email, first_name, last_name, phone, company, job_title, website, street, city, region, postal_code, country, tags, custom_fields)
	WHERE c.id = x.id AND c.deleted_at IS NULL
	RETURNING 1
)
INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
SELECT e.id, $1, e.contact_id, 'updated', e.prev::jsonb, e.data::jsonb, now() AT TIME ZONE 'UTC'
FROM unnest($2::uuid[], $5::uuid[], string_to_array($3, E'\n'), string_to_array($4, E'\n')) AS e(id, contact_id, data, prev)
WHERE (SELECT count(*) FROM upd) = cardinality($5::uuid[])
