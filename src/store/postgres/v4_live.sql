-- Messages that live (schema version 4): edits, tombstones, replies, mentions, and the
-- users a store knows. The API functions whose answers change are made anew; the
-- rules of v3_api.sql (sessions, visibility, the change lock) are the same.
-- Limits (a unit test keeps these in step with src/chat): text 10000, topic 200,
-- name 100, participants 100, page 1000.

ALTER TABLE chat1c.register ADD COLUMN edited BIGINT;
ALTER TABLE chat1c.register ADD COLUMN deleted BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE chat1c.register ADD COLUMN reply_to BIGINT;
ALTER TABLE chat1c.register ADD COLUMN mentions TEXT NOT NULL DEFAULT '[]';
CREATE INDEX register_updates ON chat1c.register(group_id, rev);

-- Who a live message mentions (not its publisher), to count unread mentions.
CREATE TABLE chat1c.mentions(
    user_key TEXT NOT NULL,
    group_id BIGINT NOT NULL,
    message_id BIGINT NOT NULL,
    PRIMARY KEY(user_key, group_id, message_id));
CREATE INDEX mentions_message ON chat1c.mentions(message_id);
-- Everyone's read mark in a group, for the ticks of a private group in api_groups.
CREATE INDEX reads_group ON chat1c.reads(group_id) INCLUDE (user_key, up_to);

-- The users the store knows (publishers, participants, who opened it): who a public
-- topic's message may mention.
CREATE TABLE chat1c.users(
    user_key TEXT PRIMARY KEY,
    shown TEXT NOT NULL);
INSERT INTO chat1c.users(user_key, shown)
    SELECT DISTINCT ON (publisher_key) publisher_key, publisher
      FROM chat1c.register ORDER BY publisher_key, id DESC
    ON CONFLICT DO NOTHING;

-- ---- mentions: the steps of src/chat/mentions.rs ----

-- The lengths a name after '@' may have: word ends within 6 words and 100 characters,
-- a trailing dot left out, longest first.
CREATE FUNCTION chat1c_private.name_ends(after TEXT) RETURNS INTEGER[]
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    ends INTEGER[] := '{}';
    words INTEGER := 0;
    c TEXT;
    nxt TEXT;
    n INTEGER;
BEGIN
    IF substr(after, 1, 1) !~ '^[[:alnum:]]$' THEN
        RETURN ends;
    END IF;
    FOR i IN 1..least(length(after), 100) LOOP
        c := substr(after, i, 1);
        nxt := substr(after, i + 1, 1);
        IF c ~ '^[[:alnum:]_.-]$' AND (nxt = '' OR nxt !~ '^[[:alnum:]_.-]$') THEN
            n := length(rtrim(substr(after, 1, i), '.'));
            IF n > 0 AND (cardinality(ends) = 0 OR ends[cardinality(ends)] <> n) THEN
                ends := ends || n;
            END IF;
            words := words + 1;
            EXIT WHEN words = 6;
        END IF;
        EXIT WHEN c <> ' ' AND c !~ '^[[:alnum:]_.-]$';
    END LOOP;
    RETURN ARRAY(SELECT e FROM unnest(ends) WITH ORDINALITY AS x(e, o) ORDER BY o DESC);
END $$;

-- The names a text mentions, in order, each once: members of a private group (their
-- shown names), or users the store knows (members empty: a public topic).
CREATE FUNCTION chat1c_private.mentions(p_text TEXT, members TEXT[]) RETURNS TEXT[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    found TEXT[] := '{}';
    rest TEXT := p_text;
    at INTEGER;
    after TEXT;
    consumed INTEGER;
    who TEXT;
    key TEXT;
    n INTEGER;
BEGIN
    LOOP
        at := strpos(rest, '@');
        EXIT WHEN at = 0;
        after := substr(rest, at + 1);
        consumed := 0;
        FOREACH n IN ARRAY chat1c_private.name_ends(after) LOOP
            key := chat1c_private.name_key(substr(after, 1, n));
            IF cardinality(members) > 0 THEN
                who := (SELECT m FROM unnest(members) m WHERE chat1c_private.name_key(m) = key LIMIT 1);
            ELSE
                who := (SELECT u.shown FROM chat1c.users u WHERE u.user_key = key);
            END IF;
            IF who IS NOT NULL THEN
                IF NOT who = ANY(found) THEN
                    found := found || who;
                END IF;
                consumed := n;
                EXIT;
            END IF;
        END LOOP;
        rest := substr(after, consumed + 1);
    END LOOP;
    RETURN found;
END $$;

-- Records who a message mentions (not its publisher), replacing what it mentioned.
-- PL/pgSQL, not SQL: a multi-statement SQL function is parsed and planned again at every
-- call (a third of api_send's time); PL/pgSQL plans once per connection.
CREATE FUNCTION chat1c_private.index_mentions(msg BIGINT, grp BIGINT, publisher TEXT, names TEXT[])
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

CREATE FUNCTION chat1c_private.remember_users(names TEXT[]) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO chat1c.users(user_key, shown)
         SELECT DISTINCT ON (chat1c_private.name_key(n)) chat1c_private.name_key(n), n
           FROM unnest(names) n
    ON CONFLICT DO NOTHING;
END $$;

-- A message the session's user may change: their own, in a group they see. Returns
-- the message's group, whether it is deleted, and the group's members (shown names,
-- empty for a public topic).
CREATE FUNCTION chat1c_private.own_message(me TEXT, msg BIGINT,
                                           OUT grp BIGINT, OUT gone BOOLEAN, OUT members TEXT[])
LANGUAGE plpgsql AS $$
DECLARE
    publisher TEXT;
    public BOOLEAN;
BEGIN
    SELECT r.group_id, r.publisher_key, r.deleted, g.is_public,
           ARRAY(SELECT json_array_elements_text(g.participants::JSON))
      INTO grp, publisher, gone, public, members
      FROM chat1c.register r JOIN chat1c.groups g ON g.id = r.group_id WHERE r.id = msg;
    IF grp IS NULL OR NOT chat1c_private.visible(me, grp) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1M01', MESSAGE = 'no such message';
    END IF;
    IF publisher <> me THEN
        RAISE EXCEPTION USING ERRCODE = 'C1M02', MESSAGE = 'not the publisher of the message';
    END IF;
    IF public THEN
        members := '{}';
    END IF;
END $$;

-- ---- the chat's API, made anew ----

CREATE OR REPLACE FUNCTION chat1c.api_open(claimed TEXT, ticket TEXT)
RETURNS TABLE(session TEXT, shown TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s chat1c_private.secret;
    who TEXT := claimed;
    token TEXT := replace(gen_random_uuid()::TEXT || gen_random_uuid()::TEXT, '-', '');
BEGIN
    SELECT * INTO s FROM chat1c_private.secret WHERE id = 1;
    IF s.secret IS NOT NULL THEN
        who := chat1c_private.ticket_user(ticket, s.secret);
        IF chat1c_private.name_key(who) IS DISTINCT FROM chat1c_private.name_key(claimed) THEN
            RAISE EXCEPTION USING ERRCODE = 'C1T02', MESSAGE = 'the chat ticket is not valid';
        END IF;
    END IF;
    IF coalesce(chat1c_private.bad_chars(who), true) OR chat1c_private.shown_name(who) = ''
       OR length(chat1c_private.shown_name(who)) > 100 THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V01', MESSAGE = 'the user name is not valid';
    END IF;
    who := chat1c_private.shown_name(who);
    DELETE FROM chat1c_private.sessions WHERE seen < now() - INTERVAL '7 days';
    INSERT INTO chat1c_private.sessions
        VALUES (sha256(convert_to(token, 'UTF8')), chat1c_private.name_key(who), who,
                coalesce(s.epoch, 0), now());
    PERFORM chat1c_private.remember_users(ARRAY[who]);
    RETURN QUERY SELECT token, who;
END $$;

DROP FUNCTION chat1c.api_groups(TEXT);
CREATE FUNCTION chat1c.api_groups(session TEXT)
RETURNS TABLE(g_id BIGINT, g_topic TEXT, g_participants TEXT, g_unread BIGINT, g_mentions BIGINT,
              g_reads TEXT, r_id BIGINT, r_group_id BIGINT, r_period BIGINT, r_publisher TEXT,
              r_message TEXT, r_rev BIGINT, r_edited BIGINT, r_deleted BOOLEAN, r_reply_to BIGINT,
              r_mentions TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
BEGIN
    RETURN QUERY
    WITH visible AS (
        SELECT g.id, g.topic, g.participants, g.is_public FROM chat1c.groups g WHERE g.is_public
        UNION ALL
        SELECT g.id, g.topic, g.participants, g.is_public
          FROM chat1c.members m JOIN chat1c.groups g ON g.id = m.group_id
         WHERE m.user_key = me AND NOT g.is_public)
    SELECT v.id, v.topic, v.participants,
           (SELECT count(*) FROM chat1c.register c
             WHERE c.group_id = v.id AND c.publisher_key <> me AND NOT c.deleted
               AND c.id > coalesce(rd.up_to, 0)),
           (SELECT count(*) FROM chat1c.mentions mm
             WHERE mm.user_key = me AND mm.group_id = v.id AND mm.message_id > coalesce(rd.up_to, 0)),
           CASE WHEN v.is_public THEN NULL
                ELSE (SELECT coalesce(json_object_agg(x.user_key, x.up_to), '{}'::JSON)::TEXT
                        FROM chat1c.reads x WHERE x.group_id = v.id) END,
           r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited, r.deleted,
           r.reply_to, r.mentions
      FROM visible v
      LEFT JOIN chat1c.reads rd ON rd.user_key = me AND rd.group_id = v.id
      -- The newest message of each group: one backward seek in register_group.
      LEFT JOIN LATERAL (
           SELECT * FROM chat1c.register x
            WHERE x.group_id = v.id ORDER BY x.id DESC LIMIT 1) r ON true
     ORDER BY coalesce(r.id, 0) DESC, v.id DESC;
END $$;

DROP FUNCTION chat1c.api_messages(TEXT, BIGINT, INTEGER, BIGINT, BIGINT);
-- kind: 0 the newest, 1 after `bound`, 2 before `bound`, 3 changed after revision
-- `bound` (ascending by revision); nearest first.
CREATE FUNCTION chat1c.api_messages(session TEXT, grp BIGINT, kind INTEGER, bound BIGINT, lim BIGINT)
RETURNS TABLE(m_id BIGINT, m_group_id BIGINT, m_period BIGINT, m_publisher TEXT, m_message TEXT,
              m_rev BIGINT, m_edited BIGINT, m_deleted BOOLEAN, m_reply_to BIGINT, m_mentions TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    n BIGINT := least(greatest(lim, 1), 1000);
BEGIN
    PERFORM chat1c_private.require_visible(me, grp);
    -- One query per kind, so each reads its index in order and stops at the limit.
    IF kind = 1 THEN
        RETURN QUERY SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited,
                            r.deleted, r.reply_to, r.mentions
          FROM chat1c.register r WHERE r.group_id = grp AND r.id > bound
         ORDER BY r.id ASC LIMIT n;
    ELSIF kind = 2 THEN
        RETURN QUERY SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited,
                            r.deleted, r.reply_to, r.mentions
          FROM chat1c.register r WHERE r.group_id = grp AND r.id < bound
         ORDER BY r.id DESC LIMIT n;
    ELSIF kind = 3 THEN
        RETURN QUERY SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited,
                            r.deleted, r.reply_to, r.mentions
          FROM chat1c.register r WHERE r.group_id = grp AND r.rev > bound
         ORDER BY r.rev ASC LIMIT n;
    ELSE
        RETURN QUERY SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited,
                            r.deleted, r.reply_to, r.mentions
          FROM chat1c.register r WHERE r.group_id = grp
         ORDER BY r.id DESC LIMIT n;
    END IF;
END $$;

DROP FUNCTION chat1c.api_send(TEXT, TEXT, TEXT, TEXT, BIGINT);
CREATE FUNCTION chat1c.api_send(session TEXT, p_topic TEXT, p_participants TEXT, p_text TEXT,
                                p_period BIGINT, p_reply_to BIGINT)
RETURNS TABLE(s_id BIGINT, s_group_id BIGINT, s_rev BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    me_shown TEXT := (SELECT s.shown FROM chat1c_private.sessions s
                       WHERE s.token_hash = sha256(convert_to(session, 'UTF8')));
    t TEXT := chat1c_private.shown_name(p_topic);
    names TEXT[];
    keys TEXT[];
    said TEXT[];
    group_key TEXT;
    grp BIGINT;
    new_id BIGINT;
    new_rev BIGINT;
BEGIN
    IF btrim(coalesce(p_text, ''), E' \t\r\n') = '' OR length(p_text) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V02', MESSAGE = 'the message text is empty or too long';
    END IF;
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
    -- The change lock (the one release 0.1.0 took too): revisions commit in order, so a
    -- watcher's cursor never skips a change that commits late with a smaller number.
    PERFORM pg_advisory_xact_lock(206205184);
    SELECT g.id INTO grp FROM chat1c.groups g WHERE g.topic = t AND g.members_key = group_key;
    IF grp IS NULL THEN
        INSERT INTO chat1c.groups AS g(topic, members_key, participants, is_public)
             VALUES (t, group_key, array_to_json(names)::TEXT, cardinality(keys) = 0)
          RETURNING g.id INTO grp;
        INSERT INTO chat1c.members AS m(user_key, group_id)
             SELECT k, grp FROM unnest(keys) k ON CONFLICT DO NOTHING;
    END IF;
    IF p_reply_to IS NOT NULL AND NOT EXISTS(
           SELECT 1 FROM chat1c.register x WHERE x.id = p_reply_to AND x.group_id = grp) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1M04', MESSAGE = 'the message replied to is not in this conversation';
    END IF;
    PERFORM chat1c_private.remember_users(names || me_shown);
    said := chat1c_private.mentions(p_text, names);
    INSERT INTO chat1c.register AS r(group_id, period, publisher, publisher_key, participants, topic,
                                     message, reply_to, mentions)
         VALUES (grp, p_period, me_shown, me, array_to_json(names)::TEXT, t, p_text, p_reply_to,
                 array_to_json(said)::TEXT)
      RETURNING r.id, r.rev INTO new_id, new_rev;
    PERFORM chat1c_private.index_mentions(new_id, grp, me, said);
    RETURN QUERY SELECT new_id, grp, new_rev;
END $$;

CREATE FUNCTION chat1c.api_edit(session TEXT, msg BIGINT, p_text TEXT, p_at BIGINT)
RETURNS TABLE(e_group_id BIGINT, e_rev BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    own RECORD;
    said TEXT[];
    new_rev BIGINT;
BEGIN
    IF btrim(coalesce(p_text, ''), E' \t\r\n') = '' OR length(p_text) > 10000 THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V02', MESSAGE = 'the message text is empty or too long';
    END IF;
    PERFORM pg_advisory_xact_lock(206205184);
    SELECT * INTO own FROM chat1c_private.own_message(me, msg);
    IF own.gone THEN
        RAISE EXCEPTION USING ERRCODE = 'C1M03', MESSAGE = 'the message was deleted';
    END IF;
    said := chat1c_private.mentions(p_text, own.members);
    UPDATE chat1c.register r
       SET message = p_text, edited = p_at, mentions = array_to_json(said)::TEXT,
           rev = (SELECT coalesce(max(x.rev), 0) + 1 FROM chat1c.register x)
     WHERE r.id = msg RETURNING r.rev INTO new_rev;
    PERFORM chat1c_private.index_mentions(msg, own.grp, me, said);
    RETURN QUERY SELECT own.grp, new_rev;
END $$;

-- Returns no row when the message already was a tombstone.
CREATE FUNCTION chat1c.api_delete(session TEXT, msg BIGINT)
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
    RETURN QUERY SELECT own.grp, new_rev;
END $$;
