UPDATE contacts c SET first_name = x.first_name, last_name = x.last_name, phone = x.phone, company = x.company, job_title = x.job_title, website = x.website, street = x.street, city = x.city, region = x.region, postal_code = x.postal_code, country = x.country,
	tags = x.tags::text[], custom_fields = x.custom_fields::jsonb, updated_at = now()
FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::tid[]) AS x(id, workspace_id, email, first_name, last_name, phone, company, job_title, website, street, city, region, postal_code, country, tags, custom_fields, loc)
WHERE c.ctid = x.loc AND c.id = x.id AND c.deleted_at IS NULL
