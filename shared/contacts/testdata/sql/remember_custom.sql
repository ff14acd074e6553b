INSERT INTO custom_fields (tenant_id, name)
	SELECT $1, n FROM unnest($2::text[]) AS n ON CONFLICT DO NOTHING
