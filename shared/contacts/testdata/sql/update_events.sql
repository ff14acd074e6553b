INSERT INTO import_events (id, import_job_id, contact_id, event_type, previous_data, new_data, created_at)
SELECT e.id, $1, e.contact_id, 'updated', e.prev::jsonb, e.data::jsonb, now() AT TIME ZONE 'UTC'
FROM unnest($2::uuid[], $3::uuid[], string_to_array($4, E'\n'), string_to_array($5, E'\n')) AS e(id, contact_id, data, prev)
