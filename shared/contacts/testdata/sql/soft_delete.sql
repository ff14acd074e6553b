UPDATE contacts SET deleted_at = now() WHERE ctid = ANY($1::tid[]) AND deleted_at IS NULL
