-- Wake-ups that say what changed (part of schema version 5). Each change NOTIFYs
-- `rev:group:id` (numbers only, never text), so a watcher learns which conversation
-- changed without a query, and asks the server only about groups it has not seen
-- yet. Anyone who may connect can NOTIFY this channel, so a watcher takes these as
-- hints: it checks them against api_notes (below) at least every 30 seconds, after
-- every reconnect, and at once when two notes for one revision differ.

DROP TRIGGER register_notify ON chat1c.register;
DROP FUNCTION chat1c.notify_new();
CREATE FUNCTION chat1c_private.notify_change() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('chat1c_new', NEW.rev || ':' || NEW.group_id || ':' || NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER register_notify AFTER INSERT OR UPDATE ON chat1c.register
    FOR EACH ROW EXECUTE FUNCTION chat1c_private.notify_change();

-- The changes after revision p_after as the notes told them: revision, group, message,
-- ascending, at most 1000. Ids only: what any listener of the channel sees anyway.
-- A revision that a later edit of the same message replaced is absent.
CREATE FUNCTION chat1c.api_notes(session TEXT, p_after BIGINT)
RETURNS TABLE(n_rev BIGINT, n_group_id BIGINT, n_id BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM chat1c_private.viewer(session);
    RETURN QUERY
    SELECT r.rev, r.group_id, r.id FROM chat1c.register r
     WHERE r.rev > p_after ORDER BY r.rev LIMIT 1000;
END $$;

-- Which of these groups the session's user sees (a group's members and publicness
-- never change, so a watcher keeps the answer).
CREATE FUNCTION chat1c.api_visible(session TEXT, p_groups BIGINT[])
RETURNS TABLE(v_group_id BIGINT)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    me TEXT := chat1c_private.viewer(session);
BEGIN
    IF cardinality(p_groups) > 1000 THEN
        RAISE EXCEPTION USING ERRCODE = 'C1V01', MESSAGE = 'too many groups at once';
    END IF;
    RETURN QUERY
    SELECT g.id FROM chat1c.groups g
     WHERE g.id = ANY(p_groups)
       AND (g.is_public OR EXISTS(SELECT 1 FROM chat1c.members m
                                   WHERE m.user_key = me AND m.group_id = g.id));
END $$;
