SELECT c.email_key, c.id, c.tenant_id, c.workspace_id, c.email, c.first_name, c.last_name, c.phone, c.company, c.job_title, c.website, c.street, c.city, c.region, c.postal_code, c.country, c.tags, c.custom_fields::text, to_json(c.created_at) #>> '{}', to_json(c.updated_at) #>> '{}' FROM contacts c
	WHERE c.tenant_id = (SELECT $1::uuid) AND c.deleted_at IS NULL AND c.email IS NOT NULL
		AND c.email_key = ANY((SELECT $2::text[])::text[])
	ORDER BY c.email_key
	FOR UPDATE
