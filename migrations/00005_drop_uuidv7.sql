-- +goose Up
-- Import events get their UUIDv7 ids from the chunk worker now, with the
-- rows they describe; nothing calls portage_uuidv7 any more.
DROP FUNCTION portage_uuidv7();

-- +goose Down
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
