-- Writes without re-planning (part of schema version 5). A multi-statement SQL-language
-- function is parsed and planned again at every call (fmgr_sql: a third of api_send's
-- time); as PL/pgSQL its statements are planned once per connection.

CREATE OR REPLACE FUNCTION chat1c_private.index_mentions(msg BIGINT, grp BIGINT, publisher TEXT, names TEXT[])
RETURNS VOID LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM chat1c.mentions WHERE message_id = msg;
    IF cardinality(names) > 0 THEN
        INSERT INTO chat1c.mentions(user_key, group_id, message_id)
             SELECT DISTINCT chat1c_private.name_key(n), grp, msg FROM unnest(names) n
              WHERE chat1c_private.name_key(n) <> publisher
        ON CONFLICT DO NOTHING;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION chat1c_private.remember_users(names TEXT[]) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat1c.users(user_key, shown)
         SELECT DISTINCT ON (chat1c_private.name_key(n)) chat1c_private.name_key(n), n
           FROM unnest(names) n
    ON CONFLICT DO NOTHING;
END $$;
