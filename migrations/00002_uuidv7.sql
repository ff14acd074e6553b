-- +goose Up
-- portage_uuidv7 returns a time-ordered UUID (RFC 9562 version 7) from the
-- wall clock, for rows created in SQL (import events): ordering by id is
-- ordering by creation. PostgreSQL 15 has no uuidv7().
CREATE FUNCTION portage_uuidv7() RETURNS uuid
  LANGUAGE sql VOLATILE
  AS $$
    SELECT encode(
      set_bit(set_bit(
        overlay(uuid_send(gen_random_uuid())
                placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                FROM 1 FOR 6),
        52, 1), 53, 1),
      'hex')::uuid
  $$;
GRANT EXECUTE ON FUNCTION portage_uuidv7() TO portage_app;

-- +goose Down
DROP FUNCTION portage_uuidv7();
