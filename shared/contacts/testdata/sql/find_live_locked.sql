SELECT k.key, c.loc::text, c.id, c.tenant_id, c.workspace_id, c.email, c.first_name, c.last_name, c.phone, c.company, c.job_title, c.website, c.street, c.city, c.region, c.postal_code, c.country, c.tags, c.custom_fields::text, to_json(c.created_at) #>> '{}', to_json(c.updated_at) #>> '{}'
	FROM unnest($2::text[]) AS k(key),
	LATERAL (SELECT c.ctid AS loc, c.* FROM contacts c
		WHERE c.tenant_id = (SELECT $1::uuid) AND c.email_key = k.key AND c.deleted_at IS NULL AND c.email IS NOT NULL
		OFFSET 0
		FOR UPDATE) AS c
