"""The pull-by-cursor protocol of package/bsl/ЧатКлиент.bsl, run against the real add-in.

No 1C platform runs here, so this test ports the module's data path (ЗапомнитьКурсоры,
ЗабратьНовые, ЗабратьГруппу, ВыполнитьДействие) to Python step for step and drives the
real libchat1c through the 1C-faithful host (chat1c-host), one host process per user, with
a fake page that records what the bridge would receive. It checks the assumptions the BSL
makes: events are hints, cursors lose nothing and duplicate nothing (also across several
pages), "open"/"older" page through the history, and a closed chat gets no more events.
Keep the port in step with the BSL (names in comments).

Run: python3 -m unittest discover -s tests/bsl -v
Env: CHAT1C_HOST_CLI (default: newest target*/{debug,release}/chat1c-host),
     CHAT1C_LIB (default: newest target*/{release,debug}/libchat1c.so). Skips when absent.
"""

import glob
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = 50        # РазмерСтраницы()
MAX_PAGES = 20   # ЗабратьГруппу: страниц за один раз


def newest(patterns):
    found = [p for pat in patterns for p in glob.glob(os.path.join(REPO, pat))]
    return max(found, key=os.path.getmtime) if found else None


HOST = os.environ.get("CHAT1C_HOST_CLI") or newest(["target*/debug/chat1c-host", "target*/release/chat1c-host"])
LIB = os.environ.get("CHAT1C_LIB") or newest(["target*/release/libchat1c.so", "target*/debug/libchat1c.so"])


class AddInError(Exception):
    pass


class Host:
    """One chat1c-host process = one 1C client with one AddIn.Chat.Chat object."""

    def __init__(self):
        self.p = subprocess.Popen([HOST, "--lib", LIB, "--lang", "ru", "-"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        first = self._line(10)
        if not first.get("ready"):
            raise RuntimeError("host did not start: %s" % first)

    def _read(self):
        for ln in self.p.stdout:
            self.lines.put(json.loads(ln))
        self.lines.put(None)

    def _line(self, timeout):
        ln = self.lines.get(timeout=timeout)
        if ln is None:
            raise RuntimeError("host exited: %s" % self.p.stderr.read())
        return ln

    def send(self, cmd, timeout=15):
        """Run one command; returns (result line, [events printed before it])."""
        self.p.stdin.write(json.dumps(cmd, ensure_ascii=False) + "\n")
        self.p.stdin.flush()
        events = []
        while True:
            ln = self._line(timeout)
            if "event" in ln:
                events.append(ln["event"])
            else:
                return ln, events

    def call(self, name, *args):
        r, ev = self.send({"cmd": "call", "name": name, "args": list(args)})
        assert not ev
        if not r.get("ok"):
            raise AddInError(r.get("error"))
        return r["value"]

    def get(self, prop):
        r, ev = self.send({"cmd": "get", "name": prop})
        assert not ev
        if not r.get("ok"):
            raise AddInError(r.get("error"))
        return r["value"]

    def wait_events(self, ms):
        return self.send({"cmd": "pump_for", "ms": ms}, timeout=ms / 1000 + 15)[1]

    def finish(self):
        r, _ = self.send({"cmd": "destroy"})
        self.p.stdin.close()
        self.p.wait(10)
        self.p.stdout.close()
        self.p.stderr.close()
        return r


class FakePage:
    """Records what the window.chat* bridge receives, merging like the page does (by id)."""

    def __init__(self):
        self.groups = []
        self.messages = {}        # group -> {id: message}
        self.added = []           # every id passed to chatAddMessages, duplicates included
        self.has_more = {}

    def chatSetGroups(self, js):
        self.groups = json.loads(js)

    def chatAddMessages(self, js):
        for m in json.loads(js):
            self.added.append(m["id"])
            self.messages.setdefault(m["group"], {})[m["id"]] = m

    def chatPrependMessages(self, group, js, has_more):
        for m in json.loads(js):
            assert m["group"] == group
            self.messages.setdefault(group, {})[m["id"]] = m
        self.has_more[group] = has_more

    def ids(self, group):
        return sorted(self.messages.get(group, {}))


class ChatForm:
    """Port of ЧатКлиент for one form (Состояние = self)."""

    def __init__(self, user, store):
        self.host = Host()
        self.page = FakePage()
        self.cursors = {}  # Состояние.Курсоры
        self.closed = False
        self.host.call("Open", store, user)                   # ПодключитьЧат
        self.remember_cursors(self.host.call("GetGroups"))    # ЗапомнитьКурсоры
        self.page.chatSetGroups(self.host.call("GetGroups"))  # FillChat's injected state

    def remember_cursors(self, groups_json):
        for g in json.loads(groups_json):
            if g["last"] is not None:
                self.cursors[g["id"]] = g["last"]["id"]

    def shift_cursor(self, group, messages):                  # СдвинутьКурсор
        if messages and messages[-1]["id"] > self.cursors.get(group, 0):
            self.cursors[group] = messages[-1]["id"]

    def pull_new(self, groups=None):                          # ЗабратьНовые
        groups_json = self.host.call("GetGroups")
        self.page.chatSetGroups(groups_json)
        if groups is None:
            groups = [g["id"] for g in json.loads(groups_json)
                      if g["last"] is not None and g["last"]["id"] > self.cursors.get(g["id"], 0)]
        for g in groups:
            self.pull_group(g, self.cursors.get(g))

    def pull_group(self, group, cursor):                      # ЗабратьГруппу
        after = cursor or 0
        for _ in range(MAX_PAGES):
            js = self.host.call("GetMessages", group, after, PAGE)
            msgs = json.loads(js)
            if not msgs:
                break
            self.page.chatAddMessages(js)
            self.shift_cursor(group, msgs)
            if len(msgs) < PAGE or after == 0:
                break
            after = self.cursors[group]

    def external_event(self, source, event, data):            # ВнешнееСобытие
        if source != "Chat" or event != "NewMessages" or self.closed:
            return
        try:
            groups = json.loads(data).get("groups")
        except ValueError:
            groups = None
        self.pull_new(groups)

    def pump(self, ms):
        events = self.host.wait_events(ms)
        for e in events:
            self.external_event(e["source"], e["message"], e["data"])
        return events

    def action(self, a):                                      # ВыполнитьДействие
        kind = a["action"]
        if kind in ("send", "new"):
            self.host.call("SendMessage", a["topic"], a["participants"], a["text"])
            self.pull_new(None)
        elif kind == "open":
            if not a.get("after"):
                js = self.host.call("GetMessages", a["group"], 0, PAGE)
                msgs = json.loads(js)
                self.shift_cursor(a["group"], msgs)
                self.page.chatPrependMessages(a["group"], js, len(msgs) >= PAGE)
            else:
                self.pull_group(a["group"], a["after"])
        elif kind == "older":
            js = self.host.call("GetHistory", a["group"], a["before"], PAGE)
            self.page.chatPrependMessages(a["group"], js, len(json.loads(js)) >= PAGE)
        elif kind == "read":
            self.host.call("MarkRead", a["group"], a["upTo"])

    def close(self):                                          # ЗакрытьЧат
        if self.closed:
            return
        self.closed = True
        self.host.call("Close")


def pump_until(form, predicate, seconds=8):
    """Deliver events to the form until predicate() holds (the watcher may coalesce)."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        form.pump(300)
    return predicate()


@unittest.skipUnless(HOST and LIB, "needs chat1c-host and libchat1c.so (cargo build -p chat1c-host; cargo build -p chat1c)")
class ClientProtocolTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="chat1c-bsl-")
        self.store = os.path.join(self.dir, "chat1c.sqlite")
        self.forms = []

    def tearDown(self):
        for f in self.forms:
            try:
                f.host.finish()
            except Exception:
                f.host.p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def form(self, user):
        f = ChatForm(user, self.store)
        self.forms.append(f)
        return f

    def test_event_hint_then_pull_delivers_each_message_once(self):
        a, b = self.form("Иванов"), self.form("Петров")
        a.action({"action": "new", "topic": "Общая", "participants": "", "text": "первое"})
        gid = json.loads(a.host.call("GetGroups"))[0]["id"]
        self.assertEqual(len(a.page.ids(gid)), 1, "the sender sees its message without an event")
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == 1), "B never got the first message")

        # A burst larger than several pages: B must end with all of them, in order, each once.
        for i in range(2 * PAGE + 30):
            a.host.call("SendMessage", "Общая", "", "сообщение %d" % i)
        total = 2 * PAGE + 31
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == total),
                        "B has %d of %d" % (len(b.page.ids(gid)), total))
        self.assertEqual(len(b.page.added), len(set(b.page.added)), "a message was pushed twice")
        self.assertEqual(b.page.added, sorted(b.page.added), "messages arrived out of order")
        self.assertEqual(b.cursors[gid], max(b.page.ids(gid)))

    def test_one_hint_pulls_several_pages(self):
        # A coalesced hint may stand for many messages: one event must fetch them all.
        a, b = self.form("Иванов"), self.form("Петров")
        a.host.call("SendMessage", "Пачка", "", "0")
        gid = json.loads(a.host.call("GetGroups"))[0]["id"]
        b.pull_new(None)
        self.assertEqual(len(b.page.ids(gid)), 1)
        for i in range(2 * PAGE + 30):
            a.host.call("SendMessage", "Пачка", "", str(i + 1))
        b.external_event("Chat", "NewMessages", json.dumps({"cursor": 0, "groups": [gid]}))
        self.assertEqual(len(b.page.ids(gid)), 2 * PAGE + 31)
        self.assertEqual(len(b.page.added), len(set(b.page.added)))
        # A hint for another add-in or a garbled hint changes nothing / falls back to GetGroups.
        a.host.call("SendMessage", "Пачка", "", "last")
        b.external_event("Other", "NewMessages", json.dumps({"groups": [gid]}))
        self.assertEqual(len(b.page.ids(gid)), 2 * PAGE + 31)
        b.external_event("Chat", "NewMessages", "not json")
        self.assertEqual(len(b.page.ids(gid)), 2 * PAGE + 32)

    def test_private_group_reaches_only_its_participants(self):
        a, b, c = self.form("Иванов"), self.form("Петров"), self.form("Сидоров")
        a.action({"action": "new", "topic": "Лично", "participants": json.dumps(["Петров"]), "text": "секрет"})
        gid = json.loads(a.host.call("GetGroups"))[0]["id"]
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == 1))
        self.assertEqual(json.loads(b.host.call("GetGroups"))[0]["participants"].count("Иванов"), 1)
        c.pump(1500)
        self.assertEqual(c.page.ids(gid), [], "a non-participant got a private message")
        self.assertEqual([g["id"] for g in c.page.groups], [])

    def test_open_and_older_page_through_the_whole_history(self):
        a = self.form("Иванов")
        for i in range(2 * PAGE + 7):
            a.host.call("SendMessage", "История", "", "m%d" % i)
        gid = json.loads(a.host.call("GetGroups"))[0]["id"]
        viewer = self.form("Петров")
        viewer.action({"action": "open", "group": gid, "after": 0})
        self.assertEqual(len(viewer.page.ids(gid)), PAGE)
        self.assertTrue(viewer.page.has_more[gid])
        while viewer.page.has_more[gid]:
            viewer.action({"action": "older", "group": gid, "before": viewer.page.ids(gid)[0]})
        all_ids = viewer.page.ids(gid)
        self.assertEqual(len(all_ids), 2 * PAGE + 7)
        self.assertEqual(all_ids, list(range(all_ids[0], all_ids[0] + len(all_ids))))
        # "open" with after = newest held: nothing new, nothing duplicated.
        before = list(viewer.page.added)
        viewer.action({"action": "open", "group": gid, "after": all_ids[-1]})
        self.assertEqual(viewer.page.added, before)

    def test_read_mark_clears_unread(self):
        a, b = self.form("Иванов"), self.form("Петров")
        a.action({"action": "new", "topic": "Непрочитанное", "participants": "", "text": "x"})
        self.assertTrue(pump_until(b, lambda: b.page.groups and b.page.groups[0]["unread"] == 1))
        gid = b.page.groups[0]["id"]
        b.action({"action": "read", "group": gid, "upTo": b.cursors[gid]})
        self.assertEqual(json.loads(b.host.call("GetGroups"))[0]["unread"], 0)

    def test_closed_chat_gets_no_events_and_close_is_once(self):
        a, b = self.form("Иванов"), self.form("Петров")
        b.close()
        b.close()  # the second call must be a no-op (ЗакрытьЧат's flag)
        self.assertFalse(b.host.get("IsOpen"))
        a.action({"action": "new", "topic": "После закрытия", "participants": "", "text": "x"})
        self.assertEqual(b.host.wait_events(1500), [], "an event reached a closed chat")
        self.assertEqual(b.page.added, [])

    def test_errors_come_back_as_text_for_the_page(self):
        a = self.form("Иванов")
        with self.assertRaises(AddInError) as cm:
            a.action({"action": "send", "group": 1, "topic": "", "participants": "", "text": "x"})
        self.assertTrue(cm.exception.args[0], "no error text for chatShowError")
        self.assertEqual(a.host.get("LastError"), cm.exception.args[0])


if __name__ == "__main__":
    unittest.main()
