-- Plans kept for the connection (schema version 6, PostgreSQL only; the API's
-- signatures do not change). Measured with pg_stat_statements (track = all,
-- track_planning) on a store of 400,000 messages, the server planned anew at every
-- call what it could have planned once per connection (BENCHMARKS.md, section 4c;
-- tests/postgres.rs::the_server_plans_a_connections_queries_once counts the plans).
--
-- 1. A SQL function whose body has a sub-select is never inlined into its caller, and
--    PostgreSQL parses and plans its body at every call: `visible` (every call that
--    names a group) spent ~80 us planning a 12 us query. In PL/pgSQL its plan is kept.
CREATE OR REPLACE FUNCTION chat1c_private.visible(me TEXT, grp BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce((SELECT g.is_public OR EXISTS(SELECT 1 FROM chat1c.members m
                                                  WHERE m.user_key = me AND m.group_id = g.id)
                       FROM chat1c.groups g WHERE g.id = grp), false);
END $$;

-- 2. A PL/pgSQL statement is planned for its parameters ("custom") five times, then
--    kept as a generic plan only if that is costed no higher. api_messages' one query
--    of four branches (one per kind, three cut at run time) was costed as all four,
--    so every call planned it anew: ~1.0 ms for 50 messages, 0.3 ms with a plan kept.
--    Kept plans must be right for every group, small or large, whatever the store's
--    statistics: a generic `group_id = $1 AND id > $2 ORDER BY id` may walk the
--    primary key and filter (58 ms for an empty group of a store with few groups).
--    Written as a range on group_id, the order (group_id, id) is only the group
--    index's (register_group; (group_id, rev): register_updates), so that is the plan.
--    A message's files come from a function in FROM, which the planner inlines
--    (files_of in the select list ran as a query of its own per message).
CREATE OR REPLACE FUNCTION chat1c_private.files_row(msg BIGINT) RETURNS TABLE(files TEXT)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(json_agg(json_build_object('id', f.id, 'name', f.name, 'size', f.size,
                                               'type', f.type) ORDER BY f.id), '[]'::JSON)::TEXT
      FROM chat1c.files f WHERE f.message_id = msg
$$;

-- kind: 0 the newest, 1 after `bound`, 2 before `bound`, 3 changed after revision
-- `bound` (ascending by revision); nearest first.
CREATE OR REPLACE FUNCTION chat1c.api_messages(session TEXT, grp BIGINT, kind INTEGER, bound BIGINT,
                                               lim BIGINT)
RETURNS TABLE(m_id BIGINT, m_group_id BIGINT, m_period BIGINT, m_publisher TEXT, m_message TEXT,
              m_rev BIGINT, m_edited BIGINT, m_deleted BOOLEAN, m_reply_to BIGINT, m_mentions TEXT,
              m_files TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    n BIGINT := least(greatest(lim, 1), 1000);
BEGIN
    PERFORM chat1c_private.require_visible(me, grp);
    IF kind = 1 THEN
        RETURN QUERY
        SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
               p.reply_to, p.mentions, f.files
          FROM (SELECT * FROM chat1c.register r
                 WHERE r.group_id >= grp AND r.group_id <= grp AND r.id > bound
                 ORDER BY r.group_id ASC, r.id ASC LIMIT n) p
         CROSS JOIN LATERAL chat1c_private.files_row(p.id) f;
    ELSIF kind = 2 THEN
        RETURN QUERY
        SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
               p.reply_to, p.mentions, f.files
          FROM (SELECT * FROM chat1c.register r
                 WHERE r.group_id >= grp AND r.group_id <= grp AND r.id < bound
                 ORDER BY r.group_id DESC, r.id DESC LIMIT n) p
         CROSS JOIN LATERAL chat1c_private.files_row(p.id) f;
    ELSIF kind = 3 THEN
        RETURN QUERY
        SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
               p.reply_to, p.mentions, f.files
          FROM (SELECT * FROM chat1c.register r
                 WHERE r.group_id >= grp AND r.group_id <= grp AND r.rev > bound
                 ORDER BY r.group_id ASC, r.rev ASC LIMIT n) p
         CROSS JOIN LATERAL chat1c_private.files_row(p.id) f;
    ELSE
        RETURN QUERY
        SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
               p.reply_to, p.mentions, f.files
          FROM (SELECT * FROM chat1c.register r
                 WHERE r.group_id >= grp AND r.group_id <= grp
                 ORDER BY r.group_id DESC, r.id DESC LIMIT n) p
         CROSS JOIN LATERAL chat1c_private.files_row(p.id) f;
    END IF;
END $$;

-- 3. MarkRead's recount (the trigger reads_count) was planned at every call too
--    (~120 us): kept generic the same way.
CREATE OR REPLACE FUNCTION chat1c_private.reads_count() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    SELECT coalesce((SELECT s.live FROM chat1c.summary s WHERE s.group_id = NEW.group_id), 0)
           - (SELECT count(*) FROM chat1c.register r
               WHERE r.group_id >= NEW.group_id AND r.group_id <= NEW.group_id
                 AND r.id > NEW.up_to AND r.publisher_key <> NEW.user_key AND NOT r.deleted),
           (SELECT count(*) FROM chat1c.mentions m
             WHERE m.user_key = NEW.user_key AND m.group_id = NEW.group_id
               AND m.message_id > NEW.up_to)
      INTO NEW.seen, NEW.mentioned;
    RETURN NEW;
END $$;

-- 4. api_send as in version 5, but for its reply check (see there).
-- One message, as the session's user, with at most one file: into an existing group
-- the user can see (p_group), or the group the topic and participants name (display
-- names: "[]" for a public topic). Returns id, group, rev.
CREATE OR REPLACE FUNCTION chat1c.api_send(session TEXT, p_group BIGINT, p_topic TEXT, p_participants TEXT,
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
    -- Two IFs: as one condition, a send without a reply planned it anew each time.
    IF p_reply_to IS NOT NULL THEN
        IF NOT EXISTS(SELECT 1 FROM chat1c.register x WHERE x.id = p_reply_to AND x.group_id = grp) THEN
            RAISE EXCEPTION USING ERRCODE = 'C1M04', MESSAGE = 'the message replied to is not in this conversation';
        END IF;
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
