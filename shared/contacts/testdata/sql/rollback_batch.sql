WITH batch AS MATERIALIZED (
	SELECT e.id, e.event_type, e.contact_id, e.new_data, e.previous_data
	FROM (SELECT coalesce((SELECT r.event_id FROM import_event_reversals r WHERE r.import_job_id = $1
	                       ORDER BY r.event_id LIMIT 1), 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid) AS before
	      OFFSET 0) AS k,
	LATERAL (SELECT e.* FROM import_events e WHERE e.import_job_id = $1 AND e.id < k.before
	         ORDER BY e.id DESC LIMIT $2) AS e)
SELECT b.id, b.event_type, b.contact_id, c.loc::text, c.now = b.new_data, c.now, b.new_data,
	CASE WHEN b.event_type = 'updated' THEN b.previous_data END
FROM batch b,
	LATERAL (SELECT c.ctid AS loc, (to_jsonb(c.*) - 'email_key') AS now FROM contacts c
		WHERE c.id = b.contact_id OFFSET 0 FOR UPDATE) c
ORDER BY b.id DESC
