-- Find, share, link (schema version 5): discussions keyed by an object, files, and
-- message search by pg_trgm. The functions whose answers change are made anew.
-- Limits (a unit test keeps these in step with src/chat): text 10000, topic 200,
-- name 100, participants 100, page 1000, search 200, file 26214400, file name 255,
-- context 1000.

ALTER TABLE chat1c.groups ADD COLUMN context TEXT;
CREATE UNIQUE INDEX groups_context ON chat1c.groups(context);

CREATE TABLE chat1c.files(
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL,
    name TEXT NOT NULL,
    size BIGINT NOT NULL,
    type TEXT NOT NULL,
    data BYTEA NOT NULL);
CREATE INDEX files_message ON chat1c.files(message_id);

-- Search: substrings by three-letter pieces (pg_trgm, trusted since PostgreSQL 13),
-- over the live text folded to lower case with ё as е.
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA chat1c_private;
CREATE FUNCTION chat1c_private.search_text(t TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT translate(lower(t), 'ё', 'е') $$;
DO $$
BEGIN
    -- The operator class lives where pg_trgm was installed (maybe by a DBA, elsewhere).
    EXECUTE format(
        'CREATE INDEX register_search ON chat1c.register
             USING gin (chat1c_private.search_text(message) %I.gin_trgm_ops) WHERE NOT deleted',
        (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
          WHERE e.extname = 'pg_trgm'));
END $$;

-- A file's type as the client read it from the content, trusted only as far as the
-- page relies on it: an image type the bytes do not carry is no image.
CREATE FUNCTION chat1c_private.checked_type(claimed TEXT, data BYTEA) RETURNS TEXT
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN claimed = 'image/png' AND substr(data, 1, 8) = '\x89504e470d0a1a0a'::BYTEA THEN claimed
        WHEN claimed = 'image/jpeg' AND substr(data, 1, 3) = '\xffd8ff'::BYTEA THEN claimed
        WHEN claimed = 'image/gif' AND substr(data, 1, 4) = 'GIF8'::BYTEA THEN claimed
        WHEN claimed = 'image/webp' AND substr(data, 1, 4) = 'RIFF'::BYTEA
             AND substr(data, 9, 4) = 'WEBP'::BYTEA THEN claimed
        WHEN claimed = 'image/bmp' AND substr(data, 1, 2) = 'BM'::BYTEA THEN claimed
        WHEN claimed LIKE 'image/%' THEN 'application/octet-stream'
        WHEN claimed ~ '^[a-z0-9.+-]+/[a-z0-9.+-]+$' AND length(claimed) <= 100 THEN claimed
        ELSE 'application/octet-stream' END
$$;

-- A message's files as the message JSON shows them.
CREATE FUNCTION chat1c_private.files_of(msg BIGINT) RETURNS TEXT
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object('id', f.id, 'name', f.name, 'size', f.size,
                                               'type', f.type) ORDER BY f.id), '[]'::JSON)::TEXT
      FROM chat1c.files f WHERE f.message_id = msg
$$;

-- ---- the chat's API, made anew ----

-- api_groups is made anew from the summaries (v5_summaries.sql, same step).
DROP FUNCTION chat1c.api_groups(TEXT);

DROP FUNCTION chat1c.api_messages(TEXT, BIGINT, INTEGER, BIGINT, BIGINT);
-- kind: 0 the newest, 1 after `bound`, 2 before `bound`, 3 changed after revision
-- `bound` (ascending by revision); nearest first.
CREATE FUNCTION chat1c.api_messages(session TEXT, grp BIGINT, kind INTEGER, bound BIGINT, lim BIGINT)
RETURNS TABLE(m_id BIGINT, m_group_id BIGINT, m_period BIGINT, m_publisher TEXT, m_message TEXT,
              m_rev BIGINT, m_edited BIGINT, m_deleted BOOLEAN, m_reply_to BIGINT, m_mentions TEXT,
              m_files TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    n BIGINT := least(greatest(lim, 1), 1000);
BEGIN
    PERFORM chat1c_private.require_visible(me, grp);
    -- One query per kind, so each reads its index in order and stops at the limit.
    RETURN QUERY
    SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
           p.reply_to, p.mentions, chat1c_private.files_of(p.id)
      FROM (SELECT * FROM chat1c.register r WHERE kind = 1 AND r.group_id = grp AND r.id > bound
             ORDER BY r.id ASC LIMIT n) p
    UNION ALL
    SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
           p.reply_to, p.mentions, chat1c_private.files_of(p.id)
      FROM (SELECT * FROM chat1c.register r WHERE kind = 2 AND r.group_id = grp AND r.id < bound
             ORDER BY r.id DESC LIMIT n) p
    UNION ALL
    SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
           p.reply_to, p.mentions, chat1c_private.files_of(p.id)
      FROM (SELECT * FROM chat1c.register r WHERE kind = 3 AND r.group_id = grp AND r.rev > bound
             ORDER BY r.rev ASC LIMIT n) p
    UNION ALL
    SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
           p.reply_to, p.mentions, chat1c_private.files_of(p.id)
      FROM (SELECT * FROM chat1c.register r WHERE kind NOT IN (1, 2, 3) AND r.group_id = grp
             ORDER BY r.id DESC LIMIT n) p;
END $$;

-- Messages the session's user can see whose live text contains `q` (folded as the
-- index folds), newest first; `grp` 0: every group they can see.
CREATE FUNCTION chat1c.api_search(session TEXT, q TEXT, grp BIGINT, lim BIGINT)
RETURNS TABLE(m_id BIGINT, m_group_id BIGINT, m_period BIGINT, m_publisher TEXT, m_message TEXT,
              m_rev BIGINT, m_edited BIGINT, m_deleted BOOLEAN, m_reply_to BIGINT, m_mentions TEXT,
              m_files TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    needle TEXT;
    wanted BIGINT := least(greatest(lim, 1), 200);
    found BIGINT;
    boundary BIGINT;
BEGIN
    IF length(btrim(coalesce(q, ''))) < 3 THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V06', MESSAGE = 'search for at least 3 characters';
    END IF;
    IF grp <> 0 THEN
        PERFORM chat1c_private.require_visible(me, grp);
    END IF;
    needle := chat1c_private.search_text(btrim(q));
    -- The planner cannot tell a common text from a rare one (it guesses 100 rows for
    -- any pattern), and the trigram index is slow for a common one: 2.6 s for a text
    -- in every one of 1,000,000 messages. So the newest 5,000 messages (of the group,
    -- or of the store and then only the visible ones: OFFSET 0 keeps that filter
    -- first) are looked at first: a common text is found there. strpos, not LIKE, so
    -- the trigram index is not used for it.
    IF grp = 0 THEN
        SELECT min(w.id) INTO boundary
          FROM (SELECT id FROM chat1c.register ORDER BY id DESC LIMIT 5000) w;
        RETURN QUERY
        SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited, r.deleted,
               r.reply_to, r.mentions, chat1c_private.files_of(r.id)
          FROM (SELECT v.* FROM chat1c.register v
                 WHERE v.id >= boundary AND NOT v.deleted
                   AND v.group_id IN (SELECT g.id FROM chat1c.groups g WHERE g.is_public
                                      UNION ALL
                                      SELECT m.group_id FROM chat1c.members m WHERE m.user_key = me)
                OFFSET 0) r
         WHERE strpos(chat1c_private.search_text(r.message), needle) > 0
         ORDER BY r.id DESC
         LIMIT wanted;
        GET DIAGNOSTICS found = ROW_COUNT;
    ELSE
        SELECT min(w.id) INTO boundary
          FROM (SELECT id FROM chat1c.register WHERE group_id = grp
                 ORDER BY id DESC LIMIT 5000) w;
        RETURN QUERY
        SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited, r.deleted,
               r.reply_to, r.mentions, chat1c_private.files_of(r.id)
          FROM chat1c.register r
         WHERE r.group_id = grp AND r.id >= boundary AND NOT r.deleted
           AND strpos(chat1c_private.search_text(r.message), needle) > 0
         ORDER BY r.id DESC
         LIMIT wanted;
        GET DIAGNOSTICS found = ROW_COUNT;
    END IF;
    IF boundary IS NULL OR found >= wanted THEN
        RETURN;  -- no message at all, or enough
    END IF;
    -- A rarer text: the older messages from the trigram index.
    RETURN QUERY EXECUTE
    'SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited, r.deleted,
            r.reply_to, r.mentions, chat1c_private.files_of(r.id)
       FROM chat1c.register r
      WHERE chat1c_private.search_text(r.message) LIKE $1 AND NOT r.deleted AND r.id < $5
        AND ($2 = 0 OR r.group_id = $2)
        AND r.group_id IN (SELECT g.id FROM chat1c.groups g WHERE g.is_public
                           UNION ALL SELECT m.group_id FROM chat1c.members m WHERE m.user_key = $3)
      ORDER BY r.id DESC
      LIMIT $4'
    USING '%' || replace(replace(replace(needle, '\', '\\'), '%', '\%'), '_', '\_') || '%',
          grp, me, wanted - found, boundary;
END $$;

-- A file of a message the session's user can see; raises when there is none.
CREATE FUNCTION chat1c.api_file(session TEXT, file BIGINT) RETURNS BYTEA
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    grp BIGINT;
    bytes BYTEA;
BEGIN
    SELECT r.group_id, f.data INTO grp, bytes
      FROM chat1c.files f JOIN chat1c.register r ON r.id = f.message_id
     WHERE f.id = file AND NOT r.deleted;
    IF grp IS NULL OR NOT chat1c_private.visible(me, grp) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1F01', MESSAGE = 'no such file';
    END IF;
    RETURN bytes;
END $$;

-- The discussion of an object: found (renamed when the title changed) or made.
CREATE FUNCTION chat1c.api_discussion(session TEXT, p_context TEXT, p_title TEXT) RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    t TEXT := chat1c_private.shown_name(p_title);
    grp BIGINT;
BEGIN
    IF coalesce(btrim(p_context), '') = '' OR length(p_context) > 1000 OR p_context ~ '[[:cntrl:]]' THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V07', MESSAGE = 'the context is not valid';
    END IF;
    IF t IS NULL OR t = '' OR length(t) > 200 OR chat1c_private.bad_chars(p_title) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V03', MESSAGE = 'the topic is not valid';
    END IF;
    -- A members key no real group has (names hold no control characters), so a
    -- discussion never collides with a public topic of the same title.
    INSERT INTO chat1c.groups AS g(topic, members_key, participants, is_public, context)
         VALUES (t, chr(1) || p_context, '[]', true, p_context)
    ON CONFLICT (context) DO UPDATE SET topic = excluded.topic
      RETURNING g.id INTO grp;
    RETURN grp;
END $$;

DROP FUNCTION chat1c.api_send(TEXT, TEXT, TEXT, TEXT, BIGINT, BIGINT);
-- One message, as the session's user, with at most one file: into an existing group
-- the user can see (p_group), or the group the topic and participants name (display
-- names: "[]" for a public topic). Returns id, group, rev.
CREATE FUNCTION chat1c.api_send(session TEXT, p_group BIGINT, p_topic TEXT, p_participants TEXT,
                                p_text TEXT, p_period BIGINT, p_reply_to BIGINT,
                                p_file_name TEXT, p_file_type TEXT, p_file BYTEA)
RETURNS TABLE(s_id BIGINT, s_group_id BIGINT, s_rev BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    me_shown TEXT := (SELECT s.shown FROM chat1c_private.sessions s
                       WHERE s.token_hash = sha256(convert_to(session, 'UTF8')));
    t TEXT;
    names TEXT[];
    keys TEXT[];
    listed TEXT;
    said TEXT[];
    group_key TEXT;
    grp BIGINT;
    discussion BOOLEAN := false;
    new_id BIGINT;
    new_rev BIGINT;
BEGIN
    IF (p_file IS NULL OR p_text <> '')
       AND (btrim(coalesce(p_text, ''), E' \t\r\n') = '' OR length(p_text) > 10000) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V02', MESSAGE = 'the message text is empty or too long';
    END IF;
    IF p_file IS NOT NULL AND (length(p_file) > 26214400 OR coalesce(btrim(p_file_name), '') = ''
       OR length(p_file_name) > 255 OR p_file_name ~ '[/\\[:cntrl:]]') THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V08', MESSAGE = 'the file is too large or its name is not valid';
    END IF;
    IF p_group IS NOT NULL THEN
        SELECT g.id, g.topic, g.participants, g.context IS NOT NULL,
               CASE WHEN g.is_public THEN '{}'::TEXT[]
                    ELSE ARRAY(SELECT json_array_elements_text(g.participants::JSON)) END
          INTO grp, t, listed, discussion, names
          FROM chat1c.groups g WHERE g.id = p_group;
        IF grp IS NULL OR NOT chat1c_private.visible(me, grp) THEN
            RAISE EXCEPTION USING ERRCODE = 'C1G01', MESSAGE = 'no such conversation';
        END IF;
    ELSE
        t := chat1c_private.shown_name(p_topic);
        IF t IS NULL OR t = '' OR length(t) > 200 OR chat1c_private.bad_chars(p_topic) THEN
            RAISE EXCEPTION USING ERRCODE = 'C1V03', MESSAGE = 'the topic is not valid';
        END IF;
        -- The participants' shown names and keys, first spelling of each, the sender added.
        SELECT coalesce(array_agg(x.shown ORDER BY x.ord), '{}'), coalesce(array_agg(x.key ORDER BY x.ord), '{}')
          INTO names, keys
          FROM (SELECT DISTINCT ON (chat1c_private.name_key(p.n))
                       chat1c_private.shown_name(p.n) AS shown, chat1c_private.name_key(p.n) AS key, p.ord
                  FROM json_array_elements_text(p_participants::JSON) WITH ORDINALITY AS p(n, ord)
                 WHERE chat1c_private.shown_name(p.n) <> ''
                 ORDER BY chat1c_private.name_key(p.n), p.ord) x;
        IF EXISTS(SELECT 1 FROM unnest(names) n WHERE chat1c_private.bad_chars(n) OR length(n) > 100) THEN
            RAISE EXCEPTION USING ERRCODE = 'C1V04', MESSAGE = 'a participant name is not valid';
        END IF;
        IF cardinality(keys) > 0 AND NOT me = ANY(keys) THEN
            names := names || me_shown;
            keys := keys || me;
        END IF;
        IF cardinality(keys) > 100 THEN
            RAISE EXCEPTION USING ERRCODE = 'C1V05', MESSAGE = 'too many participants';
        END IF;
        group_key := array_to_string(ARRAY(SELECT k FROM unnest(keys) k ORDER BY k COLLATE "C"), E'\n');
        listed := array_to_json(names)::TEXT;
        SELECT g.id INTO grp FROM chat1c.groups g WHERE g.topic = t AND g.members_key = group_key;
        IF grp IS NULL THEN
            -- Made outside the change lock: a sender making the same group at the same
            -- time waits here for the first to commit, then takes the group it made.
            INSERT INTO chat1c.groups AS g(topic, members_key, participants, is_public)
                 VALUES (t, group_key, listed, cardinality(keys) = 0)
            ON CONFLICT (topic, members_key) DO NOTHING
              RETURNING g.id INTO grp;
            IF grp IS NULL THEN
                SELECT g.id INTO grp FROM chat1c.groups g
                 WHERE g.topic = t AND g.members_key = group_key;
            ELSE
                INSERT INTO chat1c.members AS m(user_key, group_id)
                     SELECT k, grp FROM unnest(keys) k ON CONFLICT DO NOTHING;
            END IF;
        END IF;
    END IF;
    IF p_reply_to IS NOT NULL AND NOT EXISTS(
           SELECT 1 FROM chat1c.register x WHERE x.id = p_reply_to AND x.group_id = grp) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1M04', MESSAGE = 'the message replied to is not in this conversation';
    END IF;
    PERFORM chat1c_private.remember_users(names || me_shown);
    said := chat1c_private.mentions(p_text, names);
    -- The change lock (the one release 0.1.0 took too), from the message's number to the
    -- commit: ids and revisions commit in order, so a watcher's cursor never skips a
    -- change that commits late with a smaller number. Taken as late as it can be, so
    -- senders check, parse and find their group side by side.
    PERFORM pg_advisory_xact_lock(206205184);
    INSERT INTO chat1c.register AS r(group_id, period, publisher, publisher_key, participants, topic,
                                     message, reply_to, mentions)
         VALUES (grp, p_period, me_shown, me, listed, t, p_text, p_reply_to, array_to_json(said)::TEXT)
      RETURNING r.id, r.rev INTO new_id, new_rev;
    PERFORM chat1c_private.index_mentions(new_id, grp, me, said);
    IF discussion THEN
        -- A discussion lists those who take part: the publisher and who it mentions.
        INSERT INTO chat1c.members(user_key, group_id)
             SELECT k, grp FROM unnest(me || ARRAY(SELECT chat1c_private.name_key(n) FROM unnest(said) n)) k
        ON CONFLICT DO NOTHING;
    END IF;
    IF p_file IS NOT NULL THEN
        INSERT INTO chat1c.files(message_id, name, size, type, data)
             VALUES (new_id, btrim(p_file_name), length(p_file),
                     chat1c_private.checked_type(p_file_type, p_file), p_file);
    END IF;
    RETURN QUERY SELECT new_id, grp, new_rev;
END $$;

-- Returns no row when the message already was a tombstone. Its files go with it.
CREATE OR REPLACE FUNCTION chat1c.api_delete(session TEXT, msg BIGINT)
RETURNS TABLE(d_group_id BIGINT, d_rev BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    own RECORD;
    new_rev BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(206205184);
    SELECT * INTO own FROM chat1c_private.own_message(me, msg);
    IF own.gone THEN
        RETURN;
    END IF;
    UPDATE chat1c.register r
       SET message = '', deleted = true, mentions = '[]',
           rev = (SELECT coalesce(max(x.rev), 0) + 1 FROM chat1c.register x)
     WHERE r.id = msg RETURNING r.rev INTO new_rev;
    PERFORM chat1c_private.index_mentions(msg, own.grp, me, '{}');
    DELETE FROM chat1c.files f WHERE f.message_id = msg;
    RETURN QUERY SELECT own.grp, new_rev;
END $$;
