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
--    Now three statements: the newest page is the page before them all.
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
-- Search and the summaries' triggers call files_of: the same answer, written once.
CREATE OR REPLACE FUNCTION chat1c_private.files_of(msg BIGINT) RETURNS TEXT
LANGUAGE sql STABLE AS $$ SELECT f.files FROM chat1c_private.files_row(msg) f $$;

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
    ELSIF kind = 3 THEN
        RETURN QUERY
        SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
               p.reply_to, p.mentions, f.files
          FROM (SELECT * FROM chat1c.register r
                 WHERE r.group_id >= grp AND r.group_id <= grp AND r.rev > bound
                 ORDER BY r.group_id ASC, r.rev ASC LIMIT n) p
         CROSS JOIN LATERAL chat1c_private.files_row(p.id) f;
    ELSE
        -- 2: before `bound`; any other kind: the newest, i.e. before them all.
        RETURN QUERY
        SELECT p.id, p.group_id, p.period, p.publisher, p.message, p.rev, p.edited, p.deleted,
               p.reply_to, p.mentions, f.files
          FROM (SELECT * FROM chat1c.register r
                 WHERE r.group_id >= grp AND r.group_id <= grp
                   AND r.id < CASE WHEN kind = 2 THEN bound ELSE 9223372036854775807 END
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

-- 4. api_send's reply check (`p_reply_to IS NOT NULL AND NOT EXISTS(…)`) was planned at
--    every send without a reply: with NULL its custom plan folds to false, cheaper than
--    any plan kept. The send's other statements (its own and its triggers') already ran
--    on kept plans; all of them find rows by key, so they are kept from the first call.
ALTER FUNCTION chat1c.api_send(TEXT, BIGINT, TEXT, TEXT, TEXT, BIGINT, BIGINT, TEXT, TEXT, BYTEA)
    SET plan_cache_mode = force_generic_plan;
