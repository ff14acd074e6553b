UPDATE contacts c SET workspace_id = p.workspace_id, email = p.email, first_name = p.first_name,
	last_name = p.last_name, phone = p.phone, company = p.company, job_title = p.job_title,
	website = p.website, street = p.street, city = p.city, region = p.region,
	postal_code = p.postal_code, country = p.country, tags = p.tags, custom_fields = p.custom_fields,
	created_at = p.created_at, updated_at = p.updated_at, deleted_at = p.deleted_at
FROM unnest($1::tid[], $2::text[]) AS x(loc, prev),
	LATERAL jsonb_populate_record(NULL::contacts, x.prev::jsonb) p
WHERE c.ctid = x.loc AND c.id = p.id
