-- Search that reads the trigram index for older messages (schema version 7,
-- PostgreSQL only; the API's signature does not change).
--
-- Messages older than the newest 5,000 were found by one query ordered by id, and the
-- planner chose how: walk the store newest first testing each message, or gather the
-- matches from the trigram index and sort them. It costs the walk from a guess of how
-- many messages match, made from the text's length alone (a few hundred of 300,000
-- for any five letters), so for a rare or absent word it walked every older message:
-- 0.2-0.3 s at 300,000 messages, 0.4-0.7 s at 420,000, and growing with the store.
-- Now the matches are gathered first (MATERIALIZED: no order is asked of that query,
-- so an ordered walk is never a way to answer it) and only their newest are read.
-- A text common in the older messages costs what the index costs for it, as before
-- (BENCHMARKS.md, sections 4c, 4d); one common among the newest is found by the first step.
-- tests/postgres.rs::search_reads_the_index_not_every_older_message counts the buffers.
CREATE OR REPLACE FUNCTION chat1c.api_search(session TEXT, q TEXT, grp BIGINT, lim BIGINT)
RETURNS TABLE(m_id BIGINT, m_group_id BIGINT, m_period BIGINT, m_publisher TEXT, m_message TEXT,
              m_rev BIGINT, m_edited BIGINT, m_deleted BOOLEAN, m_reply_to BIGINT, m_mentions TEXT,
              m_files TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- Each statement planned for its values: a plan kept for every group could walk the
-- whole store for a small group (v6_plans.sql); a search is not called often enough
-- for the planning (< 1 ms) to matter beside its reading.
SET plan_cache_mode = force_custom_plan AS $$
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
    -- The planner cannot tell a common text from a rare one, and the trigram index is
    -- slow for a common one: 2.6 s for a text in every one of 1,000,000 messages. So
    -- the newest 5,000 messages (of the group, or of the store and then only the
    -- visible ones: OFFSET 0 keeps that filter first) are looked at first: a common
    -- text is found there. strpos, not LIKE, so the trigram index is not used for it.
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
    -- A rarer text: every older match from the trigram index, then the newest of them
    -- (planned for this text at each call).
    RETURN QUERY EXECUTE
    'WITH matches AS MATERIALIZED (
         SELECT r.id FROM chat1c.register r
          WHERE chat1c_private.search_text(r.message) LIKE $1 AND NOT r.deleted AND r.id < $5
            AND ($2 = 0 OR r.group_id = $2)
            AND r.group_id IN (SELECT g.id FROM chat1c.groups g WHERE g.is_public
                               UNION ALL SELECT m.group_id FROM chat1c.members m WHERE m.user_key = $3))
     SELECT r.id, r.group_id, r.period, r.publisher, r.message, r.rev, r.edited, r.deleted,
            r.reply_to, r.mentions, chat1c_private.files_of(r.id)
       FROM (SELECT id FROM matches ORDER BY id DESC LIMIT $4) newest
       JOIN chat1c.register r ON r.id = newest.id
      ORDER BY r.id DESC'
    USING '%' || replace(replace(replace(needle, '\', '\\'), '%', '\%'), '_', '\_') || '%',
          grp, me, wanted - found, boundary;
END $$;
