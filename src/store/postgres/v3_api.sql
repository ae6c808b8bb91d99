-- The chat's API on the server (schema version 3). Every call of the add-in is one call
-- of one of these functions. They run with the owner's rights (SECURITY DEFINER, with a
-- pinned search_path), take the caller's session, and apply the chat's rules and
-- visibility on the server, so a client role that may only EXECUTE them (see Provision)
-- reads exactly what the chat shows its user and nothing else.
--
-- Identity: a store that has a secret (chat1c_private.secret, set by Provision) opens a
-- session only for a ticket signed with that secret by the 1C server (IssueTicket), for
-- exactly the user it names. A store without one takes the name as given (the trust of
-- release 0.1.0). Sessions slide: each lives 7 days after its last use, and a new secret
-- ends them all.
--
-- Limits (checked by the add-in too; a unit test keeps these in step with src/chat):
--   text 10000, topic 200, name 100, participants 100, page 1000.

CREATE SCHEMA IF NOT EXISTS chat1c_private;
REVOKE ALL ON SCHEMA chat1c_private FROM PUBLIC;

CREATE TABLE chat1c_private.secret(
    id INTEGER PRIMARY KEY CHECK (id = 1),
    secret BYTEA NOT NULL,
    epoch INTEGER NOT NULL,
    client_role TEXT NOT NULL);

CREATE TABLE chat1c_private.sessions(
    token_hash BYTEA PRIMARY KEY,
    user_key TEXT NOT NULL,
    shown TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    seen TIMESTAMPTZ NOT NULL);
CREATE INDEX sessions_seen ON chat1c_private.sessions(seen);

-- A writer that does not number its change (release 0.1.0, still running somewhere
-- during an update) gets the next revision here, so watchers still see it. Writers
-- take the change lock first, so the numbers commit in order.
CREATE FUNCTION chat1c_private.number_change() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.rev = 0 THEN
        NEW.rev := (SELECT coalesce(max(r.rev), 0) + 1 FROM chat1c.register r);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER register_number BEFORE INSERT ON chat1c.register
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.number_change();

-- What the client role may do on a provisioned store, and nothing more: run the API
-- functions (and read the schema version). Every other right on the chat's tables is
-- taken from every role but the owner. Run by Provision, and after each upgrade, so
-- functions a later version adds are granted too.
CREATE FUNCTION chat1c_private.restrict_to_api() RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
    client TEXT := (SELECT s.client_role FROM chat1c_private.secret s WHERE s.id = 1);
    x RECORD;
BEGIN
    IF client IS NULL THEN
        RETURN;
    END IF;
    FOR x IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
              WHERE table_schema IN ('chat1c', 'chat1c_private')
                AND grantee NOT IN ('PUBLIC', current_user) LOOP
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA chat1c FROM %I', x.grantee);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA chat1c FROM %I', x.grantee);
    END LOOP;
    REVOKE ALL ON ALL TABLES IN SCHEMA chat1c FROM PUBLIC;
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA chat1c FROM PUBLIC;
    REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chat1c FROM PUBLIC;
    REVOKE ALL ON SCHEMA chat1c_private FROM PUBLIC;
    EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA chat1c FROM %I', client);
    EXECUTE format('GRANT USAGE ON SCHEMA chat1c TO %I', client);
    EXECUTE format('GRANT SELECT ON chat1c.schema_version TO %I', client);
    FOR x IN SELECT p.oid::REGPROCEDURE AS sig FROM pg_proc p
               JOIN pg_namespace n ON n.oid = p.pronamespace
              WHERE n.nspname = 'chat1c' AND p.proname LIKE 'api\_%' LOOP
        EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', x.sig, client);
    END LOOP;
END $$;

-- ---- names: the rule of src/chat/names.rs ----

CREATE FUNCTION chat1c_private.shown_name(n TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT regexp_replace(btrim(normalize(n, NFKC), ' '), ' {2,}', ' ', 'g')
$$;

CREATE FUNCTION chat1c_private.name_key(n TEXT) RETURNS TEXT
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT lower(chat1c_private.shown_name(n))
$$;

-- Control characters, whitespace other than the space, and invisible characters.
CREATE FUNCTION chat1c_private.bad_chars(n TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT normalize(n, NFKC) ~ '[\u0001-\u001F\u007F-\u009F\u0085\u1680\u2028\u2029\u00AD\u034F\u0600-\u0605\u061C\u06DD\u070F\u0890-\u0891\u08E2\u115F-\u1160\u17B4-\u17B5\u180B-\u180F\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\u2800\u3164\uFE00-\uFE0F\uFEFF\uFFA0\uFFF9-\uFFFB\U000110BD\U000110CD\U00013430-\U0001343F\U0001BCA0-\U0001BCA3\U0001D173-\U0001D17A\U000E0001\U000E0020-\U000E007F\U000E0100-\U000E01EF]'
$$;

-- ---- tickets ----

CREATE FUNCTION chat1c_private.hmac_sha256(key BYTEA, msg BYTEA) RETURNS BYTEA
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    k BYTEA := CASE WHEN length(key) > 64 THEN sha256(key) ELSE key END;
    ipad BYTEA;
    opad BYTEA;
BEGIN
    k := k || decode(repeat('00', 64 - length(k)), 'hex');
    ipad := k;
    opad := k;
    FOR i IN 0..63 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);
        opad := set_byte(opad, i, get_byte(k, i) # 92);
    END LOOP;
    RETURN sha256(opad || sha256(ipad || msg));
END $$;

CREATE FUNCTION chat1c_private.base64url(t TEXT) RETURNS BYTEA
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT decode(rpad(translate(t, '-_', '+/'), (length(t) + 3) / 4 * 4, '='), 'base64')
$$;

-- The user a ticket names, when it is genuine and current; raises otherwise.
CREATE FUNCTION chat1c_private.ticket_user(ticket TEXT, key BYTEA) RETURNS TEXT
LANGUAGE plpgsql STABLE AS $$
DECLARE
    parts TEXT[] := string_to_array(coalesce(ticket, ''), '.');
    payload JSON;
    genuine BOOLEAN;
BEGIN
    IF coalesce(ticket, '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'C1T01', MESSAGE = 'this chat store requires a ticket';
    END IF;
    BEGIN
        genuine := array_length(parts, 1) = 3 AND parts[1] = 'c1t1'
            AND chat1c_private.hmac_sha256(key, convert_to(parts[1] || '.' || parts[2], 'UTF8'))
                = chat1c_private.base64url(parts[3]);
        IF genuine THEN
            payload := convert_from(chat1c_private.base64url(parts[2]), 'UTF8')::JSON;
        END IF;
    EXCEPTION WHEN OTHERS THEN
        genuine := false;
    END;
    IF NOT coalesce(genuine, false) OR payload->>'u' IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'C1T02', MESSAGE = 'the chat ticket is not valid';
    END IF;
    IF (payload->>'exp')::BIGINT <= extract(epoch FROM now()) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1T03', MESSAGE = 'the chat ticket expired';
    END IF;
    RETURN payload->>'u';
END $$;

-- ---- sessions ----

CREATE FUNCTION chat1c.api_open(claimed TEXT, ticket TEXT)
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
    RETURN QUERY SELECT token, who;
END $$;

-- The user key of a live session; raises when it ended.
CREATE FUNCTION chat1c_private.viewer(session TEXT) RETURNS TEXT
LANGUAGE plpgsql AS $$
DECLARE
    v chat1c_private.sessions;
    hash BYTEA := sha256(convert_to(coalesce(session, ''), 'UTF8'));
BEGIN
    SELECT * INTO v FROM chat1c_private.sessions WHERE token_hash = hash;
    IF v.user_key IS NULL
       OR v.epoch <> coalesce((SELECT epoch FROM chat1c_private.secret WHERE id = 1), 0)
       OR v.seen < now() - INTERVAL '7 days' THEN
        RAISE EXCEPTION USING ERRCODE = 'C1S01', MESSAGE = 'the chat session ended';
    END IF;
    IF v.seen < now() - INTERVAL '1 hour' THEN
        UPDATE chat1c_private.sessions SET seen = now() WHERE token_hash = hash;
    END IF;
    RETURN v.user_key;
END $$;

CREATE FUNCTION chat1c_private.visible(me TEXT, grp BIGINT) RETURNS BOOLEAN
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT g.is_public OR EXISTS(SELECT 1 FROM chat1c.members m
                                                  WHERE m.user_key = me AND m.group_id = g.id)
                       FROM chat1c.groups g WHERE g.id = grp), false)
$$;

CREATE FUNCTION chat1c_private.require_visible(me TEXT, grp BIGINT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT chat1c_private.visible(me, grp) THEN
        RAISE EXCEPTION USING ERRCODE = 'C1G01', MESSAGE = 'no such conversation';
    END IF;
END $$;

-- ---- the chat ----

CREATE FUNCTION chat1c.api_groups(session TEXT)
RETURNS TABLE(g_id BIGINT, g_topic TEXT, g_participants TEXT, g_unread BIGINT, r_id BIGINT,
              r_group_id BIGINT, r_period BIGINT, r_publisher TEXT, r_message TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
BEGIN
    RETURN QUERY
    WITH visible AS (
        SELECT g.id, g.topic, g.participants FROM chat1c.groups g WHERE g.is_public
        UNION ALL
        SELECT g.id, g.topic, g.participants
          FROM chat1c.members m JOIN chat1c.groups g ON g.id = m.group_id
         WHERE m.user_key = me AND NOT g.is_public)
    SELECT v.id, v.topic, v.participants,
           (SELECT count(*) FROM chat1c.register c
             WHERE c.group_id = v.id AND c.publisher_key <> me
               AND c.id > coalesce(rd.up_to, 0)),
           r.id, r.group_id, r.period, r.publisher, r.message
      FROM visible v
      LEFT JOIN chat1c.reads rd ON rd.user_key = me AND rd.group_id = v.id
      -- The newest message of each group: one backward seek in register_group.
      LEFT JOIN LATERAL (
           SELECT * FROM chat1c.register x
            WHERE x.group_id = v.id ORDER BY x.id DESC LIMIT 1) r ON true
     ORDER BY coalesce(r.id, 0) DESC, v.id DESC;
END $$;

-- kind: 0 the newest, 1 after `bound`, 2 before `bound`; nearest first.
CREATE FUNCTION chat1c.api_messages(session TEXT, grp BIGINT, kind INTEGER, bound BIGINT, lim BIGINT)
RETURNS TABLE(m_id BIGINT, m_group_id BIGINT, m_period BIGINT, m_publisher TEXT, m_message TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    n BIGINT := least(greatest(lim, 1), 1000);
BEGIN
    PERFORM chat1c_private.require_visible(me, grp);
    IF kind = 1 THEN
        RETURN QUERY SELECT r.id, r.group_id, r.period, r.publisher, r.message
          FROM chat1c.register r WHERE r.group_id = grp AND r.id > bound
         ORDER BY r.id ASC LIMIT n;
    ELSIF kind = 2 THEN
        RETURN QUERY SELECT r.id, r.group_id, r.period, r.publisher, r.message
          FROM chat1c.register r WHERE r.group_id = grp AND r.id < bound
         ORDER BY r.id DESC LIMIT n;
    ELSE
        RETURN QUERY SELECT r.id, r.group_id, r.period, r.publisher, r.message
          FROM chat1c.register r WHERE r.group_id = grp
         ORDER BY r.id DESC LIMIT n;
    END IF;
END $$;

-- One message, as the session's user; the group is found or made from the topic and
-- the participants (display names: "[]" for a public topic). Returns id, group, rev.
CREATE FUNCTION chat1c.api_send(session TEXT, p_topic TEXT, p_participants TEXT, p_text TEXT, p_period BIGINT)
RETURNS TABLE(s_id BIGINT, s_group_id BIGINT, s_rev BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    me_shown TEXT := (SELECT s.shown FROM chat1c_private.sessions s
                       WHERE s.token_hash = sha256(convert_to(session, 'UTF8')));
    t TEXT := chat1c_private.shown_name(p_topic);
    names TEXT[];
    keys TEXT[];
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
    INSERT INTO chat1c.register AS r(group_id, period, publisher, publisher_key, participants, topic, message)
         VALUES (grp, p_period, me_shown, me, array_to_json(names)::TEXT, t, p_text)
      RETURNING r.id, r.rev INTO new_id, new_rev;
    RETURN QUERY SELECT new_id, grp, new_rev;
END $$;

CREATE FUNCTION chat1c.api_mark_read(session TEXT, grp BIGINT, p_up_to BIGINT) RETURNS VOID
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
BEGIN
    PERFORM chat1c_private.require_visible(me, grp);
    INSERT INTO chat1c.reads AS rd(user_key, group_id, up_to)
         SELECT me, grp, LEAST(greatest(p_up_to, 0), coalesce(max(r.id), 0))
           FROM chat1c.register r WHERE r.group_id = grp
    ON CONFLICT (user_key, group_id)
    DO UPDATE SET up_to = GREATEST(rd.up_to, excluded.up_to);
END $$;

-- ---- the change feed ----

CREATE FUNCTION chat1c.api_head(session TEXT) RETURNS BIGINT
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM chat1c_private.viewer(session);
    RETURN (SELECT coalesce(max(r.rev), 0) FROM chat1c.register r);
END $$;

CREATE FUNCTION chat1c.api_changes(session TEXT, p_after BIGINT, p_up_to BIGINT)
RETURNS TABLE(c_group_id BIGINT, c_last_id BIGINT, c_last_rev BIGINT, c_count BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
BEGIN
    RETURN QUERY
    SELECT r.group_id, max(r.id), max(r.rev), count(*)
      FROM chat1c.register r JOIN chat1c.groups g ON g.id = r.group_id
     WHERE r.rev > p_after AND r.rev <= p_up_to
       AND (g.is_public OR EXISTS(SELECT 1 FROM chat1c.members m
                                   WHERE m.user_key = me AND m.group_id = r.group_id))
     GROUP BY r.group_id ORDER BY r.group_id;
END $$;
