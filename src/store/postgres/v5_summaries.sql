-- GetGroups without a scan (schema version 5, after v5_find.sql): per group its newest
-- message and how many live messages it has; per reader, beside the read mark, how
-- many of those are not unread for them and how many unread ones mention them; per
-- private group its members' read marks. Triggers keep them on every write, whoever
-- writes (an older release during an update too), as the owner (SECURITY DEFINER): a
-- client can neither read nor write them, only call api_groups. Filled here for the
-- messages already stored. tests/summaries.rs recomputes them from scratch.
--
-- Locks, always in this order, so no two writers wait on each other in a cycle: a
-- group's summary, then its members' rows, then read marks, then the group's row (its
-- `marks`). A mark that moves takes its user's `mark_moves` row right after the mark.
-- A send, an edit or a delete takes the summary first; MarkRead never takes it.

-- One row per group. `live`: its messages that are not tombstones; then the newest
-- message's columns as api_groups shows them (last_id NULL: no message yet).
CREATE TABLE chat1c.summary(
    group_id BIGINT PRIMARY KEY,
    live BIGINT NOT NULL DEFAULT 0,
    last_id BIGINT,
    period BIGINT,
    publisher TEXT,
    message TEXT,
    rev BIGINT,
    edited BIGINT,
    deleted BOOLEAN,
    reply_to BIGINT,
    mentions TEXT,
    files TEXT,
    -- A public topic (listed for everyone), so the newest of them are one index walk.
    listed BOOLEAN NOT NULL DEFAULT false);
CREATE INDEX summary_listed_newest ON chat1c.summary(coalesce(last_id, 0) DESC, group_id DESC)
    WHERE listed;
-- Per member the group's newest message id (0: none yet), so a member's newest groups
-- are one index walk too: GetGroups(50) reads 50 rows of each, not every visible group.
ALTER TABLE chat1c.members ADD COLUMN last_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX members_newest ON chat1c.members(user_key, last_id DESC, group_id DESC);
CREATE INDEX members_group ON chat1c.members(group_id);
-- A reader's counts: `seen`, the live messages that are not unread for them (up to the
-- mark, and their own after it), so unread = live - seen; `mentioned`, the live
-- messages after the mark that mention them. A row exists for every (user, group)
-- where the user has posted or was mentioned, so a missing row counts nothing.
ALTER TABLE chat1c.reads ADD COLUMN seen BIGINT;
ALTER TABLE chat1c.reads ADD COLUMN mentioned BIGINT NOT NULL DEFAULT 0;
-- A private group's read marks {user key: id}, for its ticks (NULL: a public topic or
-- a discussion).
ALTER TABLE chat1c.groups ADD COLUMN marks JSONB;

-- ---- the triggers that keep them ----

CREATE FUNCTION chat1c_private.group_marks() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.marks := CASE WHEN NEW.is_public THEN NULL ELSE coalesce(NEW.marks, '{}') END;
    RETURN NEW;
END $$;
CREATE TRIGGER groups_marks BEFORE INSERT ON chat1c.groups
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.group_marks();

CREATE FUNCTION chat1c_private.summary_group() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO chat1c.summary(group_id, listed)
         VALUES (NEW.id, NEW.is_public AND NEW.context IS NULL) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER groups_summary AFTER INSERT ON chat1c.groups
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.summary_group();

-- A new message: the count, the newest message's copy, and the publisher's `seen`
-- (a message is never unread for its publisher).
CREATE FUNCTION chat1c_private.summary_add() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d INTEGER := CASE WHEN NEW.deleted THEN 0 ELSE 1 END;
BEGIN
    UPDATE chat1c.summary s
       SET live = s.live + d, last_id = NEW.id, period = NEW.period, publisher = NEW.publisher,
           message = NEW.message, rev = NEW.rev, edited = NEW.edited, deleted = NEW.deleted,
           reply_to = NEW.reply_to, mentions = NEW.mentions, files = '[]'
     WHERE s.group_id = NEW.group_id AND coalesce(s.last_id, 0) < NEW.id;
    IF FOUND THEN
        UPDATE chat1c.members m SET last_id = NEW.id
         WHERE m.group_id = NEW.group_id AND m.last_id < NEW.id;
    ELSE
        UPDATE chat1c.summary s SET live = s.live + d WHERE s.group_id = NEW.group_id;
    END IF;
    INSERT INTO chat1c.reads AS rd(user_key, group_id, up_to, seen)
         VALUES (NEW.publisher_key, NEW.group_id, 0, d)
    ON CONFLICT (user_key, group_id) DO UPDATE SET seen = rd.seen + d;
    RETURN NULL;
END $$;
CREATE TRIGGER register_summary AFTER INSERT ON chat1c.register
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.summary_add();

-- An edit, a tombstone: the newest message's copy follows; a tombstone leaves the
-- count and the `seen` of those it was not unread for (who had read past it, and
-- its publisher).
CREATE FUNCTION chat1c_private.summary_change() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    d INTEGER := (CASE WHEN OLD.deleted THEN 1 ELSE 0 END) - (CASE WHEN NEW.deleted THEN 1 ELSE 0 END);
BEGIN
    UPDATE chat1c.summary s
       SET live = s.live + d,
           period = CASE WHEN s.last_id = NEW.id THEN NEW.period ELSE s.period END,
           publisher = CASE WHEN s.last_id = NEW.id THEN NEW.publisher ELSE s.publisher END,
           message = CASE WHEN s.last_id = NEW.id THEN NEW.message ELSE s.message END,
           rev = CASE WHEN s.last_id = NEW.id THEN NEW.rev ELSE s.rev END,
           edited = CASE WHEN s.last_id = NEW.id THEN NEW.edited ELSE s.edited END,
           deleted = CASE WHEN s.last_id = NEW.id THEN NEW.deleted ELSE s.deleted END,
           reply_to = CASE WHEN s.last_id = NEW.id THEN NEW.reply_to ELSE s.reply_to END,
           mentions = CASE WHEN s.last_id = NEW.id THEN NEW.mentions ELSE s.mentions END
     WHERE s.group_id = NEW.group_id AND (d <> 0 OR s.last_id = NEW.id);
    IF d <> 0 THEN
        UPDATE chat1c.reads rd SET seen = rd.seen + d
         WHERE rd.group_id = NEW.group_id AND rd.up_to >= NEW.id;
        UPDATE chat1c.reads rd SET seen = rd.seen + d
         WHERE rd.user_key = NEW.publisher_key AND rd.group_id = NEW.group_id
           AND rd.up_to < NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER register_summary_change AFTER UPDATE ON chat1c.register
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.summary_change();

-- The newest message's files.
CREATE FUNCTION chat1c_private.summary_files() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    msg BIGINT := CASE WHEN TG_OP = 'DELETE' THEN OLD.message_id ELSE NEW.message_id END;
BEGIN
    UPDATE chat1c.summary s SET files = chat1c_private.files_of(msg)
     WHERE s.group_id = (SELECT r.group_id FROM chat1c.register r WHERE r.id = msg)
       AND s.last_id = msg;
    RETURN NULL;
END $$;
CREATE TRIGGER files_summary AFTER INSERT OR DELETE ON chat1c.files
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.summary_files();

-- A member added (a new group, who takes part in a discussion): the group's newest id.
-- None commits in between unseen: a new group's members come with the group, before any
-- message can be in it (other senders wait on its unique key); a discussion's come after
-- the sender's message, under the change lock.
CREATE FUNCTION chat1c_private.member_newest() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    NEW.last_id := coalesce((SELECT s.last_id FROM chat1c.summary s WHERE s.group_id = NEW.group_id), 0);
    RETURN NEW;
END $$;
CREATE TRIGGER members_newest BEFORE INSERT ON chat1c.members
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.member_newest();

-- A mention made or taken back (an edit, a tombstone): the mentioned user's count.
CREATE FUNCTION chat1c_private.reads_mentions() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO chat1c.reads AS rd(user_key, group_id, up_to, seen, mentioned)
             VALUES (NEW.user_key, NEW.group_id, 0, 0, 1)
        ON CONFLICT (user_key, group_id)
        DO UPDATE SET mentioned = rd.mentioned + CASE WHEN NEW.message_id > rd.up_to THEN 1 ELSE 0 END;
    ELSE
        UPDATE chat1c.reads rd SET mentioned = rd.mentioned - 1
         WHERE rd.user_key = OLD.user_key AND rd.group_id = OLD.group_id
           AND rd.up_to < OLD.message_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER mentions_reads AFTER INSERT OR DELETE ON chat1c.mentions
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.reads_mentions();

-- A read mark set without its counts (MarkRead, an older release), moved, or with its
-- counts cleared: they are counted again from the messages after it (few: marks are
-- set near the newest), in one statement, so in one snapshot.
CREATE FUNCTION chat1c_private.reads_count() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    SELECT coalesce((SELECT s.live FROM chat1c.summary s WHERE s.group_id = NEW.group_id), 0)
           - (SELECT count(*) FROM chat1c.register r
               WHERE r.group_id = NEW.group_id AND r.id > NEW.up_to
                 AND r.publisher_key <> NEW.user_key AND NOT r.deleted),
           (SELECT count(*) FROM chat1c.mentions m
             WHERE m.user_key = NEW.user_key AND m.group_id = NEW.group_id
               AND m.message_id > NEW.up_to)
      INTO NEW.seen, NEW.mentioned;
    RETURN NEW;
END $$;
-- The conditions in WHEN: a send's `seen + 1` calls no function at all.
CREATE TRIGGER reads_count BEFORE INSERT ON chat1c.reads
    FOR EACH ROW WHEN (NEW.seen IS NULL) EXECUTE FUNCTION chat1c_private.reads_count();
CREATE TRIGGER reads_recount BEFORE UPDATE ON chat1c.reads
    FOR EACH ROW WHEN (NEW.seen IS NULL OR NEW.up_to <> OLD.up_to)
    EXECUTE FUNCTION chat1c_private.reads_count();

-- The private group's ticks follow its members' read marks.
CREATE FUNCTION chat1c_private.reads_marks() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE chat1c.groups g SET marks = g.marks || jsonb_build_object(NEW.user_key, NEW.up_to)
     WHERE g.id = NEW.group_id AND g.marks IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER reads_marks AFTER INSERT ON chat1c.reads
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.reads_marks();
CREATE TRIGGER reads_marks_moved AFTER UPDATE OF up_to ON chat1c.reads
    FOR EACH ROW WHEN (NEW.up_to <> OLD.up_to) EXECUTE FUNCTION chat1c_private.reads_marks();

-- How many times each user's read marks moved, whoever moved them (MarkRead in any of
-- their processes, an older release's mark), and on each read mark the count at its
-- last move: GetUnread counts again the groups whose mark moved since it last counted
-- (api_unread). Taken by a mark only (a send never moves one), after its read mark and
-- before the group's row (reads_marks fires after the row is written).
CREATE TABLE chat1c.mark_moves(
    user_key TEXT PRIMARY KEY,
    moves BIGINT NOT NULL);
ALTER TABLE chat1c.reads ADD COLUMN moved BIGINT NOT NULL DEFAULT 0;
CREATE INDEX reads_by_move ON chat1c.reads(user_key, moved);
CREATE FUNCTION chat1c_private.reads_moved() RETURNS TRIGGER
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO chat1c.mark_moves AS mm(user_key, moves) VALUES (NEW.user_key, 1)
    ON CONFLICT (user_key) DO UPDATE SET moves = mm.moves + 1
      RETURNING mm.moves INTO NEW.moved;
    RETURN NEW;
END $$;
CREATE TRIGGER reads_moved BEFORE INSERT ON chat1c.reads
    FOR EACH ROW WHEN (NEW.up_to > 0) EXECUTE FUNCTION chat1c_private.reads_moved();
CREATE TRIGGER reads_moved_again BEFORE UPDATE ON chat1c.reads
    FOR EACH ROW WHEN (NEW.up_to <> OLD.up_to) EXECUTE FUNCTION chat1c_private.reads_moved();

-- Everything counted afresh from the register, the mentions, the files and the read
-- marks: here for the messages already stored, and by whoever loads messages in bulk
-- with the register's trigger `register_summary` disabled (the benchmark does). The
-- readers' counts go through `reads_count`.
CREATE FUNCTION chat1c_private.count_afresh() RETURNS VOID
LANGUAGE sql AS $$
    INSERT INTO chat1c.summary(group_id) SELECT g.id FROM chat1c.groups g ON CONFLICT DO NOTHING;
    UPDATE chat1c.summary s
       SET live = coalesce(c.live, 0), last_id = c.last_id, period = r.period,
           publisher = r.publisher, message = r.message, rev = r.rev, edited = r.edited,
           deleted = r.deleted, reply_to = r.reply_to, mentions = r.mentions,
           files = CASE WHEN r.id IS NULL THEN NULL ELSE chat1c_private.files_of(r.id) END
      FROM chat1c.summary t
      LEFT JOIN (SELECT x.group_id, count(*) FILTER (WHERE NOT x.deleted) AS live,
                        max(x.id) AS last_id
                   FROM chat1c.register x GROUP BY x.group_id) c ON c.group_id = t.group_id
      LEFT JOIN chat1c.register r ON r.id = c.last_id
     WHERE t.group_id = s.group_id;
    UPDATE chat1c.summary s SET listed = g.is_public AND g.context IS NULL
      FROM chat1c.groups g WHERE g.id = s.group_id;
    UPDATE chat1c.members m SET last_id = coalesce(s.last_id, 0)
      FROM chat1c.summary s WHERE s.group_id = m.group_id;
    INSERT INTO chat1c.reads(user_key, group_id, up_to)
        SELECT r.publisher_key, r.group_id, 0 FROM chat1c.register r
        UNION SELECT m.user_key, m.group_id, 0 FROM chat1c.mentions m
        ON CONFLICT DO NOTHING;
    UPDATE chat1c.reads SET seen = NULL;
    UPDATE chat1c.groups g
       SET marks = CASE WHEN g.is_public THEN NULL
                        ELSE coalesce((SELECT jsonb_object_agg(rd.user_key, rd.up_to)
                                         FROM chat1c.reads rd WHERE rd.group_id = g.id), '{}') END;
$$;
SELECT chat1c_private.count_afresh();

-- ---- the chat's API ----

-- The groups a user sees, with their newest message id (0: none): public topics, the
-- private groups they belong to, and the discussions they took part in (any discussion
-- may be read by id, but only those are listed). With `lim`, only the newest `lim` of
-- each kind (two index walks; the caller picks the newest `lim` of both); NULL: all.
-- No SET clause, so the planner inlines it into its callers (which pin theirs).
CREATE FUNCTION chat1c_private.visible_groups(me TEXT, lim BIGINT)
RETURNS TABLE(id BIGINT, newest BIGINT)
LANGUAGE sql STABLE AS $$
    (SELECT s.group_id, coalesce(s.last_id, 0) FROM chat1c.summary s WHERE s.listed
      ORDER BY coalesce(s.last_id, 0) DESC, s.group_id DESC LIMIT lim)
    UNION ALL
    (SELECT m.group_id, m.last_id FROM chat1c.members m JOIN chat1c.groups g ON g.id = m.group_id
      WHERE m.user_key = me AND (NOT g.is_public OR g.context IS NOT NULL)
      ORDER BY m.last_id DESC, m.group_id DESC LIMIT lim)
$$;

-- The `lim` most recently active visible groups (NULL: all), or the group `grp` alone
-- when the user may read it (listed for them or not): per group its row (with the
-- members' read marks), its summary and the user's read mark; nothing is counted here.
-- The newest are picked from the ids alone (`visible_groups` with `lim`: 2 × `lim` rows
-- read, however many groups the user sees); the other columns are read for the groups
-- returned only. Unordered: the add-in sorts them.
CREATE FUNCTION chat1c.api_groups(session TEXT, lim BIGINT DEFAULT NULL, grp BIGINT DEFAULT NULL)
RETURNS TABLE(g_id BIGINT, g_topic TEXT, g_participants TEXT, g_unread BIGINT, g_mentions BIGINT,
              g_reads TEXT, g_context TEXT, r_id BIGINT, r_group_id BIGINT, r_period BIGINT,
              r_publisher TEXT, r_message TEXT, r_rev BIGINT, r_edited BIGINT, r_deleted BOOLEAN,
              r_reply_to BIGINT, r_mentions TEXT, r_files TEXT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
BEGIN
    IF grp IS NOT NULL THEN
        PERFORM chat1c_private.require_visible(me, grp);
    END IF;
    RETURN QUERY
    WITH shown AS (
        SELECT grp AS id WHERE grp IS NOT NULL
        UNION ALL
        (SELECT v.id FROM chat1c_private.visible_groups(me, lim) v WHERE grp IS NULL
          ORDER BY v.newest DESC, v.id DESC LIMIT lim))
    SELECT g.id, g.topic, g.participants,
           greatest(coalesce(s.live, 0) - coalesce(rd.seen, 0), 0), coalesce(rd.mentioned, 0),
           CASE WHEN g.is_public THEN NULL ELSE coalesce(g.marks, '{}')::TEXT END,
           g.context,
           s.last_id, g.id, s.period, s.publisher, s.message, s.rev, s.edited, s.deleted,
           s.reply_to, s.mentions, s.files
      FROM shown v
      JOIN chat1c.groups g ON g.id = v.id
      LEFT JOIN chat1c.summary s ON s.group_id = v.id
      LEFT JOIN chat1c.reads rd ON rd.user_key = me AND rd.group_id = v.id;
END $$;

-- GetUnread from what changed since the caller last asked. The add-in keeps, per group,
-- the counts that are not zero, with the revision and the user's read-mark moves they
-- were taken at (p_rev, p_moves); it asks on every chat event, and a notifier of each of
-- a thousand users must not sum every group it sees each time. The answer gives the
-- counts of each group the user sees that changed after p_rev (zeros too, so the caller
-- drops them: a few per event) or whose read mark moved after the user's p_moves-th
-- move (MarkRead from any of their processes, an older release's mark); or, with
-- `whole`, of every visible group with something unread or mentioning the user: on the
-- first call, past 200 changes and moved marks, or when p_rev or p_moves is beyond what this
-- store has reached. Nothing is told about a group the user does not see. Edits,
-- tombstones, mentions and new members all come with a revision in their group, so
-- "changed" covers them.
-- The chat's summaries and read marks stay in memory; at the default random_page_cost
-- (4, for a disk) the planner hashed every group's summary even for a user who sees 150
-- of 10,000: 1.49 -> 0.67 ms for such a user's whole count. Generic plans: the custom
-- ones were planned anew on every call (0.354 -> 0.073 ms for nothing to add).
CREATE FUNCTION chat1c.api_unread(session TEXT, p_rev BIGINT DEFAULT NULL, p_moves BIGINT DEFAULT NULL)
RETURNS TABLE(whole BOOLEAN, at_rev BIGINT, at_moves BIGINT,
              ids BIGINT[], unread BIGINT[], mentions BIGINT[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET random_page_cost = 1.1
    SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
    -- Read before the counts, so they are at least this new: a change committed after
    -- it has a larger revision and is counted again by the next call.
    head BIGINT := (SELECT coalesce(max(r.rev), 0) FROM chat1c.register r);
    moved BIGINT := coalesce((SELECT mm.moves FROM chat1c.mark_moves mm WHERE mm.user_key = me), 0);
    changed BIGINT[];
BEGIN
    IF p_rev <= head AND p_moves <= moved THEN
        changed := ARRAY((SELECT r.group_id FROM chat1c.register r
                           WHERE r.rev > p_rev ORDER BY r.rev LIMIT 201)
                         UNION ALL
                         (SELECT rd.group_id FROM chat1c.reads rd
                           WHERE rd.user_key = me AND rd.moved > p_moves LIMIT 201));
        IF cardinality(changed) <= 200 THEN
            RETURN QUERY
            SELECT false, head, moved, coalesce(array_agg(t.id), '{}'),
                   coalesce(array_agg(t.u), '{}'), coalesce(array_agg(t.m), '{}')
              FROM (SELECT g.id, greatest(coalesce(s.live, 0) - coalesce(rd.seen, 0), 0) AS u,
                           coalesce(rd.mentioned, 0) AS m
                      FROM (SELECT DISTINCT x AS id FROM unnest(changed) x) c
                      JOIN chat1c.groups g ON g.id = c.id
                      LEFT JOIN chat1c.members mb ON mb.user_key = me AND mb.group_id = g.id
                      LEFT JOIN chat1c.summary s ON s.group_id = g.id
                      LEFT JOIN chat1c.reads rd ON rd.user_key = me AND rd.group_id = g.id
                     WHERE (g.is_public AND g.context IS NULL) OR mb.group_id IS NOT NULL) t;
            RETURN;
        END IF;
    END IF;
    RETURN QUERY
    SELECT true, head, moved, coalesce(array_agg(t.id), '{}'),
           coalesce(array_agg(t.u), '{}'), coalesce(array_agg(t.m), '{}')
      FROM (SELECT v.id, greatest(coalesce(s.live, 0) - coalesce(rd.seen, 0), 0) AS u,
                   coalesce(rd.mentioned, 0) AS m
              FROM chat1c_private.visible_groups(me, NULL) v
              LEFT JOIN chat1c.summary s ON s.group_id = v.id
              LEFT JOIN chat1c.reads rd ON rd.user_key = me AND rd.group_id = v.id) t
     WHERE t.u > 0 OR t.m > 0;
END $$;
