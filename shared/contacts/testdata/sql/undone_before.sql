SELECT x.i, p.id, p.event_type, p.previous_data
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS x(event_id, contact_id, previous, i),
LATERAL (SELECT e.id, e.event_type, e.previous_data, e.new_data
	FROM (SELECT e.* FROM import_events e
	      WHERE e.contact_id = x.contact_id AND e.event_type IN ('created', 'updated')
	      OFFSET 0) e
	WHERE e.id < x.event_id
	ORDER BY e.id DESC LIMIT 1) p
WHERE p.new_data = x.previous::jsonb
  AND EXISTS (SELECT 1 FROM import_event_reversals r WHERE r.event_id = p.id AND r.outcome = 'conflict')
