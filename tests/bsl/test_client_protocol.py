"""The data path of package/bsl/ЧатКлиент.bsl, run against the real add-in.

No 1C platform runs here, so this test ports the module's data path (ПодключитьЧат and its
continuation, ЗапомнитьКурсоры, ЗабратьНовые, ЗабратьИзменения, ЗабратьГруппу, the cursors
(СдвинутьКурсор, СдвинутьВерсию), ВыполнитьДействие, Отправить, Изменить, ПриЗакрытии, the
notifications outside the form: ОповеститьОНовых, ВажныеСообщения,
ПоказатьНепрочитанные, ОткрытьЧатПоНажатию; ХранилищеПоУмолчанию and the connection-string
parser) to Python step for step and drives the real libchat1c through the 1C-faithful host
(chat1c-host), one host process per 1C object, with a fake page that records what the
bridge would receive. Texts shown to users (web client, version mismatch, store warning,
connection failure) are read from the BSL itself, so the port cannot drift from them.
It checks the assumptions the BSL makes: events are hints, cursors lose nothing and
duplicate nothing (also across several pages), "open"/"older" page through the history, a
closed chat gets no more events, a cancelled exit leaves chats alive, the web client gets
one message and no attach, a failed read after a good send is not "not sent", the version
check, notifications and the unread count outside the form, the store chosen on the client,
no password in anything shown; and live messages: edits and deletes reaching another user's
page through events and GetUpdates (also a burst at event-queue depth 1), replies, the quote
of an original older than the page's history, the per-group revision cursor; and find, share,
link: search, the window around a found message (around, newer), files through the page
(file), 1C's dialogs (attach, save: their continuations ОтправитьВыбранныеФайлы and
СохранитьФайлЧата) and inline images (image), the discussion of an object
(ПодключитьОбсуждение: one group per object, posting into it, its changes reaching a form
that does not list it, other forms not pulling it), the links the form opens (МожноОткрыть).
Keep the port in step with the BSL (names in comments).

Run: python3 -m unittest discover -s tests/bsl -v
Env: CHAT1C_HOST_CLI (default: newest target*/{debug,release}/chat1c-host),
     CHAT1C_LIB (default: newest target*/{release,debug}/libchat1c.so). Skips when absent.
"""

import base64
import glob
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGE = 50        # РазмерСтраницы()
LISTED = 50      # БеседВСписке()
MAX_PAGES = 20   # ЗабратьГруппу: страниц за один раз
FOUND = 50       # НайтиНеБольше()
FILE_MAX = 26214400       # НаибольшийФайл()
IMAGE_MAX = 2097152       # НаибольшееИзображение()


def newest(patterns):
    found = [p for pat in patterns for p in glob.glob(os.path.join(REPO, pat))]
    return max(found, key=os.path.getmtime) if found else None


KIT = os.path.join(REPO, "package", "bsl")


class Bsl:
    """The kit's source: procedure bodies and their НСтр texts, as the port needs them."""

    def __init__(self, name):
        with open(os.path.join(KIT, name), encoding="utf-8-sig") as f:
            self.text = f.read()

    def body(self, name):
        m = re.search(r"^(?:Процедура|Функция) %s\([^\n]*\n(.*?)^(?:КонецПроцедуры|КонецФункции)" % re.escape(name),
                      self.text, re.S | re.M)
        if not m:
            raise KeyError("%s not in the kit" % name)
        return m.group(1)

    def nstr(self, name, index=0):
        """The index-th НСтр("ru = '...'") of a procedure, as 1C reads it (| continuations, "" -> ")."""
        found = re.findall(r"НСтр\(\"ru = '(.*?)'\"\)", self.body(name), re.S)
        lines = found[index].split("\n")
        text = "\n".join([lines[0]] + [re.sub(r"^\s*\|", "", ln) for ln in lines[1:]])
        return text.replace('""', '"')


CLIENT = Bsl("ЧатКлиент.bsl")


def str_template(text, *args):                               # СтрШаблон
    return re.sub(r"%(\d)", lambda m: str(args[int(m.group(1)) - 1]), text)


def expected_version():                                      # ВерсияКомпоненты()
    return re.search(r'Возврат "([^"]+)";', CLIENT.body("ВерсияКомпоненты")).group(1)


HOST = os.environ.get("CHAT1C_HOST_CLI") or newest(["target*/debug/chat1c-host", "target*/release/chat1c-host"])
LIB = os.environ.get("CHAT1C_LIB") or newest(["target*/release/libchat1c.so", "target*/debug/libchat1c.so"])


class AddInError(Exception):
    pass


class Host:
    """One chat1c-host process = one 1C client with one AddIn.Chat.Chat object."""

    def __init__(self, depth=None):
        extra = ["--depth", str(depth)] if depth is not None else []
        self.p = subprocess.Popen([HOST, "--lib", LIB, "--lang", "ru"] + extra + ["-"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.fail = {}  # method -> error text: the next call of it fails (see fail_next)
        self.calls = []  # every method called, in order
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

    def fail_next(self, name, text):
        """The next call of `name` fails with `text` before reaching the add-in: stands in for
        a store that does not answer at that moment (locked, a dropped network share)."""
        self.fail[name] = text

    def call(self, name, *args):
        self.calls.append(name)
        if name in self.fail:
            raise AddInError(self.fail.pop(name))
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
    """Records what the window.chat* bridge receives, merging like the page does (by id; a
    held message is replaced only by one with a higher rev)."""

    def __init__(self):
        self.groups = []
        self.messages = {}        # group -> {id: message}
        self.added = []           # every id passed to chatAddMessages, duplicates included
        self.revs = []            # (id, rev) of everything passed to chatAddMessages
        self.has_more = {}
        self.errors = []          # chatShowError(text, failedSeq): (text, seq or None)
        self.opened = []          # chatOpenGroup(group)
        self.people = None        # chatSetPeople(json)
        self.answers = []         # seq passed back with chatPrependMessages / chatAppendMessages / chatShowAround
        self.windows = []         # chatShowAround: (group, older ids, newer ids, has_older, has_newer)
        self.appended = []        # chatAppendMessages: (group, ids, has_more)
        self.found = {}           # chatSearchResults: seq -> messages
        self.file_data = {}       # chatSetFileData: file id -> (base64, type)
        self.outbox = {}          # what the page read from a drop or paste, by seq (chatTakeFile)
        self.title = None         # chatSetTitle
        self.object = None        # chatSetObject: (link, title)

    def chatShowError(self, text, failed_seq=None):
        self.errors.append((text, failed_seq))

    def chatOpenGroup(self, group):
        if group not in [g["id"] for g in self.groups]:
            return False
        self.opened.append(group)
        return True

    def chatSetPeople(self, js):
        self.people = json.loads(js)

    def chatSetGroups(self, js, limit=0):
        self.groups = json.loads(js)
        self.groups_limit = limit

    def merge(self, m):
        held = self.messages.setdefault(m["group"], {}).get(m["id"])
        if held is None or m["rev"] > held["rev"]:
            self.messages[m["group"]][m["id"]] = m

    def chatAddMessages(self, js):
        for m in json.loads(js):
            self.added.append(m["id"])
            self.revs.append((m["id"], m["rev"]))
            self.merge(m)

    def chatPrependMessages(self, group, js, has_more, seq=None):
        for m in json.loads(js):
            assert m["group"] == group
            self.merge(m)
        self.has_more[group] = has_more
        self.answers.append(seq)

    def chatAppendMessages(self, group, js, has_more, seq):
        msgs = json.loads(js)
        for m in msgs:
            assert m["group"] == group
            self.merge(m)
        self.appended.append((group, [m["id"] for m in msgs], has_more))
        self.answers.append(seq)

    def chatShowAround(self, group, older_js, newer_js, has_older, has_newer, seq):
        older, newer = json.loads(older_js), json.loads(newer_js)
        for m in older + newer:
            assert m["group"] == group
            self.merge(m)
        self.windows.append((group, [m["id"] for m in older], [m["id"] for m in newer], has_older, has_newer))
        self.answers.append(seq)

    def chatSearchResults(self, seq, js):
        self.found[seq] = json.loads(js)

    def chatSetFileData(self, file_id, b64, mime):
        self.file_data[file_id] = (b64, mime)

    def chatTakeFile(self, seq):
        return self.outbox.pop(seq, "")

    def chatSetTitle(self, title):
        self.title = title

    def chatSetObject(self, link, title):
        self.object = (link, title)

    def message(self, group, mid):
        return self.messages.get(group, {}).get(mid)

    def ids(self, group):
        return sorted(self.messages.get(group, {}))


# ---- the store location, chosen on the client (ХранилищеПоУмолчанию) ----

def connection_params(text):                                 # ПараметрыСтрокиСоединения
    out = []
    while text.strip():
        pos = text.find("=")
        if pos < 0:
            break
        key, text = text[:pos].strip(), text[pos + 1:]
        value = ""
        if text[:1] == '"':
            text = text[1:]
            while True:
                q = text.find('"')
                if q < 0:
                    value, text = value + text, ""
                    break
                value, text = value + text[:q], text[q + 1:]
                if text[:1] == '"':
                    value, text = value + '"', text[1:]
                else:
                    break
            semi = text.find(";")
            text = "" if semi < 0 else text[semi + 1:]
        else:
            semi = text.find(";")
            value, text = (text, "") if semi < 0 else (text[:semi], text[semi + 1:])
        out.append((key, value.strip()))
    return out


def file_base_dir(connection_string):                        # КаталогФайловойБазы
    for key, value in connection_params(connection_string):
        if key.upper() == "FILE":
            return value
    return ""


def configured_store(value, client_os):                      # ЧатВызовСервера.НастроенноеХранилище
    value = value.strip()
    by_os = False
    for line in [ln for ln in value.split("\n") if ln]:
        pos = line.find("=")
        key = line[:pos].strip().upper() if pos >= 0 else ""
        if key in ("WINDOWS", "LINUX", "MACOS"):
            by_os = True
            if key == client_os.upper():
                return line[pos + 1:].strip()
    return "" if by_os else value


def default_store(session):                                  # ХранилищеПоУмолчанию
    if session.settings["Хранилище"]:
        return session.settings["Хранилище"]
    base = file_base_dir(session.connection_string)
    if not base:
        return ""
    sep = "\\" if session.client_os == "Windows" else "/"
    return (base if base.endswith(sep) else base + sep) + "chat1c.sqlite"


def store_warning(store):                                    # ПредупреждениеОХранилище
    return "" if store else CLIENT.nstr("ПредупреждениеОХранилище")


class Session:
    """One 1C client session: ПараметрыПриложения (settings cache, the notifier), the
    application title, and what the platform showed (ПоказатьОповещениеПользователя,
    СообщитьПользователю, Оповестить)."""

    def __init__(self, store="", connection_string='File="/nowhere";', client_os="Linux",
                 notifications=True, app_title="Торговля"):
        # ЧатВызовСервера.НастройкиЧата: the constant's value for this OS, the user's choice.
        self.settings = {"Хранилище": configured_store(store, client_os), "Оповещения": notifications,
                         "ЗаголовокПриложения": app_title}
        self.connection_string = connection_string   # СтрокаСоединенияИнформационнойБазы() on the client
        self.client_os = client_os
        self.notifier = None
        self.title = ""          # КлиентскоеПриложение.ПолучитьЗаголовок() / УстановитьЗаголовок()
        self.broadcasts = []     # Оповестить("Чат1С.Непрочитано", N)
        self.shown = []          # ПоказатьОповещениеПользователя: (text, group clicked to, explanation)
        self.messages = []       # СообщитьПользователю
        self.forms = []          # open chat forms
        self.chat_on_screen = False  # ЧатВАктивномОкне()
        self.users = []          # ЧатВызовСервера.ПользователиЧата()
        self.dialogs = []        # ДиалогВыбораФайла.Показать: ("open", group) or ("save", name, file id)
        self.navigated = []      # ПерейтиПоНавигационнойСсылке


def version_error(host, expected=None):                      # ОшибкаВерсииКомпоненты
    expected = expected or expected_version()
    loaded = host.get("Version")
    if loaded == expected:
        return ""
    return str_template(CLIENT.nstr("ОшибкаВерсииКомпоненты"), loaded, expected)


def component_text(host, exception_text):                    # ТекстОшибкиКомпоненты
    last = host.get("LastError") if host else ""
    return last if last and last in exception_text else exception_text


def groups_from_hint(data):                                  # ГруппыИзПодсказки
    try:
        return json.loads(data).get("groups")
    except ValueError:
        return None


def is_chat_event(source, event):                            # ЭтоСобытиеЧата
    return source == "Chat" and event == "NewMessages"


class ChatObject:
    """What the form and the notifier share (Состояние): the object, cursors, closing."""

    host = None
    closed = False
    start = 0        # Состояние.Начало
    start_rev = 0    # Состояние.НачалоВерсий

    def remember_cursors(self, groups_json):                  # ЗапомнитьКурсоры
        for g in json.loads(groups_json):
            if g["last"] is not None:                         # СдвинутьКурсорНаПоследнее
                self.cursors[g["id"]] = g["last"]["id"]
                self.revs[g["id"]] = g["last"].get("rev") or 0
                self.start = max(self.start, g["last"]["id"])
                self.start_rev = max(self.start_rev, g["last"].get("rev") or 0)

    def cursor(self, group):                                  # КурсорГруппы
        return self.cursors.get(group, self.start)

    def rev_of(self, group):                                  # ВерсияГруппы
        return self.revs.get(group, self.start_rev)

    @staticmethod
    def shift(cursors, group, messages, field):               # Сдвинуть
        cursors[group] = max([cursors.get(group, 0)] + [m[field] for m in messages])

    def shift_cursor(self, group, messages):                  # СдвинутьКурсор
        self.shift(self.cursors, group, messages, "id")

    def shift_rev(self, group, messages):                     # СдвинутьВерсию
        self.shift(self.revs, group, messages, "rev")

    def groups_to_pull(self, groups, listed):                  # ГруппыДляЗабора
        if groups is None:
            return self.newer_than_cursor(listed)
        ids = {g["id"] for g in listed}
        return [g for g in groups if g in ids or g in self.revs]

    def newer_than_cursor(self, groups):                      # ГруппыНовееКурсора
        return [g["id"] for g in groups if g["last"] is not None
                and (g["last"]["id"] > self.cursor(g["id"])
                     or (g["last"].get("rev") or 0) > self.rev_of(g["id"]))]

    def pull_updates(self, group, window):                    # ЗабратьИзменения
        if window is None:
            return
        for _ in range(MAX_PAGES):
            js = self.host.call("GetUpdates", group, self.rev_of(group), PAGE)
            msgs = json.loads(js)
            if not msgs:
                break
            window.chatAddMessages(js)
            self.shift_cursor(group, msgs)
            self.shift_rev(group, msgs)
            if len(msgs) < PAGE:
                break

    def pull_group(self, group, collected):                   # ЗабратьГруппу (оповещения)
        after = self.cursor(group)
        for _ in range(MAX_PAGES):
            msgs = json.loads(self.host.call("GetMessages", group, after, PAGE))
            if not msgs:
                break
            collected.extend(msgs)
            self.shift_cursor(group, msgs)
            if len(msgs) < PAGE or after == 0:
                break
            after = self.cursors[group]

    def close(self):                                          # ЗакрытьЧат / ЗакрытьСостояние
        if self.closed:
            return
        self.closed = True
        if self.host is not None:
            self.host.call("Close")


class ChatForm(ChatObject):
    """Port of ЧатКлиент for one form (Состояние = self)."""

    def __init__(self, user, store=None, session=None, web_client=False, expected=None, depth=None,
                 obj=None, discuss=None):
        # ПодключитьЧат (obj: the form's object, ОбъектФормы) or, with discuss = (link, title),
        # ПодключитьОбсуждение; both through ПодключитьКФорме. store None = Хранилище
        # Неопределено (ХранилищеПоУмолчанию).
        self.session = session or Session()
        self.page = FakePage()
        self.cursors = {}  # Состояние.Курсоры
        self.revs = {}     # Состояние.Версии
        self.field = None  # what the HTML field shows when the chat is unavailable
        self.warning = ""  # Состояние.Предупреждение
        self.open_group = None  # Состояние.ОткрытьГруппу
        self.discussion = None  # Состояние.Обсуждение: the group id of the one discussion shown
        self.groups_limit = LISTED  # Состояние.ЛимитБесед
        self.obj = object_description(*discuss) if discuss else obj  # Состояние.Объект
        if discuss and self.obj is None:  # ПодключитьОбсуждение of an object not written yet
            self.field = CLIENT.nstr("ТекстОбъектНеЗаписан")
            return
        if web_client:  # #Если ВебКлиент: no attach, no install, one message in the field
            self.field = CLIENT.nstr("ТекстВебКлиента")
            return
        self.host = Host(depth)  # НачатьПодключениеКомпоненты + Новый("AddIn.Chat.Chat")
        error = version_error(self.host, expected)
        if error:
            self.show_connect_error(error)
            return
        chosen = default_store(self.session) if store is None else store
        try:
            self.host.call("Open", chosen, user)
            groups_json = self.host.call("GetGroups", self.groups_limit)
            if discuss:   # the same link is the same group; a new title renames it
                self.discussion = self.host.call("OpenDiscussion", self.obj["link"], self.obj["title"])
                self.html = self.host.call("FillChat", self.discussion)
            else:
                self.html = self.host.call("FillChat")
        except AddInError as e:
            self.show_connect_error(CLIENT.nstr("ПодключитьЧатПослеПодключенияКомпоненты") + "\n"
                                    + component_text(self.host, str(e)))
            return
        self.opened = True
        if store is None:
            self.warning = store_warning(chosen)
        self.remember_cursors(groups_json)
        self.page.chatSetGroups(groups_json, self.groups_limit)  # FillChat's injected state
        self.session.forms.append(self)

    opened = False

    def is_open(self):                                        # ОткрытоеСостояние
        return self.opened and not self.closed

    def show_connect_error(self, text):                       # ПоказатьОшибкуПодключения
        self.session.messages.append(text)
        self.field = text

    def pull_new(self, groups=None):                          # ЗабратьНовые
        d = self.discussion
        if d is not None:
            # An object's form: one discussion, no list; another group's event costs no call.
            # Pulled by its cursor (it may not be listed: the user has not written in it).
            if (groups is None or d in groups) and d in self.revs:
                self.pull_updates(d, self.page)
            return
        groups_json = self.host.call("GetGroups", self.groups_limit)
        self.page.chatSetGroups(groups_json, self.groups_limit)
        groups = self.groups_to_pull(groups, json.loads(groups_json))
        for g in groups:
            self.pull_updates(g, self.page)

    def external_event(self, source, event, data):            # ВнешнееСобытие
        if not is_chat_event(source, event) or not self.is_open():
            return
        try:
            self.pull_new(groups_from_hint(data))
        except AddInError as e:
            self.page.chatShowError(component_text(self.host, str(e)))

    def pump(self, ms):
        events = self.host.wait_events(ms)
        for e in events:
            self.external_event(e["source"], e["message"], e["data"])
            if self.session.notifier is not None:             # the same event reaches the application module
                self.session.notifier.external_event(e["source"], e["message"], e["data"])
        return events

    def click(self, actions):                                 # ПриНажатии
        if not self.is_open():
            return
        for a in actions:
            try:
                self.action(a)
            except AddInError as e:
                self.page.chatShowError(component_text(self.host, str(e)), awaited_seq(a))

    def document_formed(self):                                # ДокументСформирован
        if not self.is_open():
            return
        try:
            self.pull_new(None)
        except AddInError as e:
            self.page.chatShowError(component_text(self.host, str(e)))
        self.pass_object()
        if self.warning:
            self.page.chatShowError(self.warning)
            self.warning = ""
        self.open_pending_group()

    def pass_object(self):                                    # ПередатьОбъектСтранице
        if self.obj is None:
            return
        if self.discussion is not None:
            self.page.chatSetTitle(self.obj["title"])
        self.page.chatSetObject(self.obj["link"], self.obj["title"])

    def open_conversation(self, group):                       # ОткрытьБеседу
        if self.closed:
            return
        self.open_group = group
        self.open_pending_group()

    def open_pending_group(self):                             # ОткрытьОтложеннуюБеседу
        if self.open_group is None or not self.is_open():
            return
        self.page.chatSetGroups(self.host.call("GetGroups", self.groups_limit), self.groups_limit)
        if self.page.chatOpenGroup(self.open_group):
            self.open_group = None

    def send(self, a):                                        # Отправить
        group = a.get("group")
        try:
            if a["action"] == "post":
                self.host.call("PostMessage", group, a["text"], a.get("replyTo") or 0)
            elif a["action"] == "file":
                self.host.call("PostFile", group, a["name"], {"blob": self.page_file(a).hex()}, "", 0)
            else:
                self.host.call("SendMessage", a["topic"], a["participants"], a["text"], a.get("replyTo") or 0)
                group = None
        except AddInError as e:
            self.page.chatShowError(component_text(self.host, str(e)), a.get("seq"))
            return
        self.pull_new(None if group is None else [group])

    def page_file(self, a):                                   # ДанныеФайлаСоСтраницы
        b64 = self.page.chatTakeFile(a.get("seq"))
        if not isinstance(b64, str) or not b64:
            raise AddInError(CLIENT.nstr("ДанныеФайлаСоСтраницы", 0))
        data = base64.b64decode(b64)                          # Base64Значение
        if len(data) > FILE_MAX:
            raise AddInError(CLIENT.nstr("ДанныеФайлаСоСтраницы", 1))
        return data

    def show_around(self, a):                                 # ПоказатьОкноИстории
        group, mid = a["group"], a["id"]
        older_js = self.host.call("GetHistory", group, mid + 1, PAGE)
        newer_js = self.host.call("GetMessages", group, mid, PAGE)
        older, newer = json.loads(older_js), json.loads(newer_js)
        self.page.chatShowAround(group, older_js, newer_js, len(older) >= PAGE, len(newer) >= PAGE, a.get("seq"))
        for msgs in (older, newer):
            self.shift_cursor(group, msgs)
            self.shift_rev(group, msgs)

    def show_image(self, a):                                  # ПоказатьИзображение
        try:
            data = bytes.fromhex(self.host.call("GetFile", a["id"])["blob"])
            b64 = "" if len(data) > IMAGE_MAX else base64.encodebytes(data).decode()   # Base64Строка: lines
        except AddInError:
            b64 = ""
        self.page.chatSetFileData(a["id"], b64, str(a.get("type")))

    def files_chosen(self, paths, group):                     # ОтправитьВыбранныеФайлы (after ВыбратьФайлы)
        if paths is None or not self.is_open():
            return
        for path in paths:
            try:                                              # ОтправитьФайлСДиска
                name = os.path.basename(path)
                if os.path.getsize(path) > FILE_MAX:          # Файл.Размер(), before reading
                    raise AddInError(str_template(CLIENT.nstr("ОтправитьФайлСДиска"), name))
                with open(path, "rb") as f:                   # Новый ДвоичныеДанные(Путь)
                    self.host.call("PostFile", group, name, {"blob": f.read().hex()}, "", 0)
            except AddInError as e:
                self.page.chatShowError(component_text(self.host, str(e)))
        try:
            self.pull_new([group])
        except AddInError as e:
            self.page.chatShowError(component_text(self.host, str(e)))

    def save_chosen(self, paths, file_id):                    # СохранитьФайлЧата (after СохранитьФайл)
        if paths is None or not self.is_open():
            return
        try:
            data = bytes.fromhex(self.host.call("GetFile", file_id)["blob"])
            with open(paths[0], "wb") as f:                   # ДвоичныеДанные.Записать
                f.write(data)
        except AddInError as e:
            self.page.chatShowError(component_text(self.host, str(e)))
            return
        self.session.shown.append((CLIENT.nstr("СохранитьФайлЧата"), None, paths[0]))

    def change(self, a):                                      # Изменить
        try:
            if a["action"] == "edit":
                self.host.call("EditMessage", a["id"], a["text"])
            else:
                self.host.call("DeleteMessage", a["id"])
        except AddInError as e:
            self.page.chatShowError(component_text(self.host, str(e)), a.get("seq"))
            return
        self.pull_new([a["group"]] if a.get("group") is not None else None)

    def action(self, a):                                      # ВыполнитьДействие
        kind = a["action"]
        if kind in ("send", "new", "post", "file"):
            self.send(a)
        elif kind in ("edit", "delete"):
            self.change(a)
        elif kind == "open":
            if not a.get("after"):
                js = self.host.call("GetMessages", a["group"], 0, PAGE)
                msgs = json.loads(js)
                self.page.chatPrependMessages(a["group"], js, len(msgs) >= PAGE, a.get("seq"))
                self.shift_cursor(a["group"], msgs)
                self.shift_rev(a["group"], msgs)
            else:
                self.pull_updates(a["group"], self.page)
        elif kind == "older":                                 # the revision cursor stays
            js = self.host.call("GetHistory", a["group"], a["before"], PAGE)
            self.page.chatPrependMessages(a["group"], js, len(json.loads(js)) >= PAGE, a.get("seq"))
        elif kind == "around":
            self.show_around(a)
        elif kind == "newer":                                 # the revision cursor stays, as for "older"
            js = self.host.call("GetMessages", a["group"], a["after"], PAGE)
            self.page.chatAppendMessages(a["group"], js, len(json.loads(js)) >= PAGE, a.get("seq"))
        elif kind == "search":
            self.page.chatSearchResults(a.get("seq"), self.host.call("Search", a["text"], a.get("group") or 0, FOUND))
        elif kind == "quote":
            self.page.chatAddMessages(self.host.call("GetHistory", a["group"], a["id"] + 1, 1))
        elif kind == "read":
            self.host.call("MarkRead", a["group"], a["upTo"])
            if self.session.notifier is not None:            # ОбновитьНепрочитанные
                self.session.notifier.refresh_unread()
        elif kind == "groups":                                # "more conversations", a filter, or it cleared
            self.groups_limit = max(a.get("limit") or 0, 0)
            self.page.chatSetGroups(self.host.call("GetGroups", self.groups_limit), self.groups_limit)
        elif kind == "people":
            self.page.chatSetPeople(json.dumps(self.session.users))
        elif kind == "image":
            self.show_image(a)
        elif kind == "save":                                  # СохранитьФайл: 1C's save dialog
            self.session.dialogs.append(("save", a["name"], a["id"]))
        elif kind == "attach":                                # ВыбратьФайлы: 1C's file dialog
            self.session.dialogs.append(("open", a["group"]))
        elif kind == "link":
            if may_open(a["url"]):
                self.session.navigated.append(a["url"])       # ПерейтиПоНавигационнойСсылке

    def before_close(self, cancel, exiting):                  # ПередЗакрытием (устарела: ничего не делает)
        return

    def on_close(self, exiting=False):                        # ПриЗакрытии
        self.close()
        if self in self.session.forms:
            self.session.forms.remove(self)


class Notifier(ChatObject):
    """Port of the application-level part (ОповещенияВнеФормы): one object per session."""

    def __init__(self, user, store, session, expected=None):
        # ПриНачалеРаботыСистемы -> ЗапуститьОповещения -> ...ПослеПодключенияКомпоненты
        self.user = user
        self.session = session
        self.cursors = {}
        self.revs = {}
        self.unread = 0     # Состояние.Непрочитано
        self.known = {}     # Состояние.Беседы
        self.prefix = ""    # Состояние.Префикс
        self.host = Host()
        session.notifier = self
        error = version_error(self.host, expected)
        if error:
            session.shown.append((CLIENT.nstr("НовыйОбъектЧата", 1), None, error))
            self.closed = True
            return
        self.host.call("Open", store, user)
        groups = json.loads(self.host.call("GetGroups", 1))  # the newest: Начало
        unread = json.loads(self.host.call("GetUnread"))
        self.remember_cursors(json.dumps(groups))
        self.show_unread(unread)

    def external_event(self, source, event, data):            # ОбработкаВнешнегоСобытия
        if not is_chat_event(source, event) or self.closed:
            return
        try:
            self.notify_new(groups_from_hint(data))
        except AddInError:
            pass  # the chat form shows store errors; notifications stay quiet

    def pump(self, ms):
        events = self.host.wait_events(ms)
        for e in events:
            self.external_event(e["source"], e["message"], e["data"])
        return events

    def notify_new(self, groups):                             # ОповеститьОНовых
        self.show_unread(json.loads(self.host.call("GetUnread")))
        if groups is None or any(g not in self.known for g in groups):   # ЕстьНезнакомые
            listed = json.loads(self.host.call("GetGroups", LISTED))
            self.known.update({g["id"]: g for g in listed})  # Состояние.Беседы
            if groups is None:
                groups = self.newer_than_cursor(listed)
        on_screen = self.session.chat_on_screen
        for g in groups:
            described = self.known.get(g)
            if described is None:     # not listed: a discussion the user has no part in
                continue
            new = []
            self.pull_group(g, new)
            important = self.important(described, new)
            if important and not on_screen:
                self.show_notification(described, important)

    def important(self, group, messages):                     # ВажныеСообщения
        private = group is not None and len(group["participants"]) > 0
        me = self.host.get("User").lower()                    # Компонента.Пользователь
        return [m for m in messages if not m["deleted"] and m["publisher"].lower() != me
                and (private or me in [n.lower() for n in m["mentions"]])]   # Упоминает

    def show_notification(self, group, important):            # ПоказатьОповещениеОСообщениях
        last = important[-1]
        title = last["publisher"]
        topic = group["topic"] if group else ""
        if topic:
            title += " — " + topic
        if len(important) > 1:
            title += " (%d)" % len(important)
        self.session.shown.append((title, last["group"], first_words(last["text"])))

    def show_unread(self, unread):                            # ПоказатьНепрочитанные
        total = unread["unread"]
        changed = total != self.unread
        self.unread = total
        title = self.session.title
        if self.prefix and title.startswith(self.prefix):
            title = title[len(self.prefix):]
        if not title:
            title = self.session.settings["ЗаголовокПриложения"]
        self.prefix = "(%d) " % total if total > 0 else ""
        self.session.title = self.prefix + title
        if changed:
            self.session.broadcasts.append(total)

    def refresh_unread(self):                                 # ОбновитьНепрочитанные
        if not self.closed:
            self.show_unread(json.loads(self.host.call("GetUnread")))

    def click(self, index, store):                            # ОткрытьЧатПоНажатию -> ОткрытьЧат
        group = self.session.shown[index][1]
        form = ChatForm(self.user, store, self.session)      # ОткрытьФорму: ПриОткрытии -> ПодключитьЧат
        form.open_conversation(group)
        form.document_formed()
        return form


def object_description(link, title):                         # ОписаниеОбъекта (link: ПолучитьНавигационнуюСсылку)
    if not link:                                             # an empty ref: not written yet
        return None
    for ch in "\n\r\t":
        title = title.replace(ch, " ")
    return {"link": link, "title": title.strip()[:200]}


def awaited_seq(a):                                          # НомерОжидания
    return a.get("seq") if a["action"] in ("open", "older", "around", "newer", "search") else None


def may_open(url):                                           # МожноОткрыть
    start = url.strip().lower()
    return any(start.startswith(p) and len(start) > len(p) for p in ("http://", "https://", "e1cib/", "e1c://"))


def first_words(text):                                       # ПервыеСлова
    words = text.split()
    cut = len(words) > 12
    out = " ".join(words[:12])
    if len(out) > 100:
        out, cut = out[:100], True
    return out + "…" if cut else out


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
            if f.host is None:
                continue
            try:
                f.host.finish()
            except Exception:
                f.host.p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def form(self, user, **kw):
        f = ChatForm(user, kw.pop("store", self.store), **kw)
        self.forms.append(f)
        return f

    def notifier(self, user, session, **kw):
        n = Notifier(user, self.store, session, **kw)
        self.forms.append(n)
        return n

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

    def test_failed_send_marks_only_that_send(self):
        a = self.form("Иванов")
        a.click([{"action": "send", "seq": 7, "group": 1, "topic": "", "participants": "", "text": "x"},
                 {"action": "send", "seq": 8, "group": 1, "topic": "Тема", "participants": "", "text": "хорошее"}])
        self.assertEqual(len(a.page.errors), 1, a.page.errors)
        text, seq = a.page.errors[0]
        self.assertEqual(seq, 7, "the failed send is named by its seq")
        self.assertTrue(text)
        self.assertEqual(text, a.host.get("LastError") or text)
        self.assertEqual([m["text"] for g in a.page.messages.values() for m in g.values()], ["хорошее"])

    def test_failed_read_after_a_good_send_is_not_marked_not_sent(self):
        # The store takes the message, then does not answer the pull that follows: the page
        # gets an error without a seq (nothing marked "not sent", no duplicate by a resend),
        # and the message arrives with the next pull of that group, because the cursor did
        # not move. (The sender gets no event for its own message: here the next pull
        # comes with Петров's reply.)
        a, b = self.form("Иванов"), self.form("Петров")
        a.click([{"action": "new", "seq": 1, "topic": "Склад", "participants": "", "text": "первое"}])
        gid = json.loads(a.host.call("GetGroups"))[0]["id"]
        a.host.fail_next("GetGroups", "Хранилище чата слишком долго заблокировано другим процессом")
        a.click([{"action": "send", "seq": 2, "group": gid, "topic": "Склад", "participants": "", "text": "второе"}])
        self.assertEqual(a.page.errors, [("Хранилище чата слишком долго заблокировано другим процессом", None)])
        self.assertEqual(len(a.page.ids(gid)), 1, "the pull failed: the page has not got it yet")
        self.assertEqual(len(json.loads(a.host.call("GetMessages", gid, 0, 10))), 2, "the send itself was stored once")
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == 2))
        b.click([{"action": "send", "seq": 1, "group": gid, "topic": "Склад", "participants": "", "text": "третье"}])
        self.assertTrue(pump_until(a, lambda: len(a.page.ids(gid)) == 3), "the next pull did not bring it")

    def test_exit_cancelled_leaves_the_chat_alive(self):
        # The platform asks every form before exit (ПередЗакрытием with ЗавершениеРаботы) and
        # another form cancels: nothing may be closed yet. Only ПриЗакрытии, after a confirmed
        # exit, closes the chat.
        a, b = self.form("Иванов"), self.form("Петров")
        b.before_close(cancel=False, exiting=True)
        self.assertTrue(b.host.get("IsOpen"), "a chat closed before the exit was confirmed")
        a.click([{"action": "new", "seq": 1, "topic": "После отмены", "participants": "", "text": "вы еще тут?"}])
        gid = json.loads(a.host.call("GetGroups"))[0]["id"]
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == 1), "the chat died with the cancelled exit")
        b.on_close(exiting=True)
        self.assertFalse(b.host.get("IsOpen"))
        # The kit itself: only ПриЗакрытии closes; the old handlers are empty, the app module has none.
        self.assertIn("ЗакрытьЧат(Форма)", CLIENT.body("ПриЗакрытии"))
        for name in ("ПередЗакрытием", "ПередЗавершениемРаботыСистемы"):
            code = [ln.strip() for ln in CLIENT.body(name).splitlines() if ln.strip() and not ln.strip().startswith("//")]
            self.assertEqual(code, ["Возврат;"], name + " must not close anything")
        app = Bsl("МодульУправляемогоПриложения.bsl").text
        self.assertNotIn("ПередЗавершениемРаботыСистемы", app)
        self.assertNotIn("Процедура ПередЗакрытием", Bsl("ФормаЧата.bsl").text)

    def test_web_client_gets_one_message_and_no_attach(self):
        f = self.form("Иванов", web_client=True)
        self.assertIsNone(f.host, "the web client must not attach or install anything")
        self.assertIn("веб-клиент", f.field.lower())
        self.assertIn("тонком клиенте", f.field)
        self.assertEqual(f.session.messages, [], "one message, in the field only")
        # In the kit: the web client branch comes before any attach, in the form (ПодключитьЧат and
        # ПодключитьОбсуждение both go through ПодключитьКФорме) and at start-up.
        self.assertIn("ПодключитьКФорме(", CLIENT.body("ПодключитьЧат"))
        self.assertIn("ПодключитьКФорме(", CLIENT.body("ПодключитьОбсуждение"))
        body = CLIENT.body("ПодключитьКФорме")
        self.assertLess(body.index("#Если ВебКлиент Тогда"), body.index("НачатьПодключениеКомпоненты"))
        self.assertLess(body.index("ТекстВебКлиента()"), body.index("#Иначе"))
        self.assertIn("#Если Не ВебКлиент Тогда", CLIENT.body("ПриНачалеРаботыСистемы"))
        # The thin client's attach error no longer talks about the web client.
        self.assertNotIn("веб", CLIENT.body("ТекстКомпонентаНеПодключена").lower())

    def test_version_check(self):
        # The kit expects the version the add-in reports; both come from one release.
        a = self.form("Иванов")
        self.assertEqual(a.host.get("Version"), expected_version())
        self.assertTrue(a.is_open())
        # A component cached from an older template: the form says what to do and opens nothing.
        old = self.form("Петров", expected="0.0.9")
        self.assertFalse(old.is_open())
        self.assertFalse(old.host.get("IsOpen"), "opened the store despite the mismatch")
        self.assertIn(old.host.get("Version"), old.field)
        self.assertIn("0.0.9", old.field)
        self.assertIn("Перезапустите программу", old.field)
        session = Session()
        n = self.notifier("Петров", session, expected="0.0.9")
        self.assertTrue(n.closed)
        self.assertEqual([(t, g) for t, g, _ in session.shown], [("Чат: перезапустите программу", None)])

    def test_notifications_outside_the_form(self):
        session = Session(app_title="Управление торговлей")
        a = self.form("Иванов")
        n = self.notifier("Петров", session)
        self.assertEqual(session.title, "Управление торговлей")
        calls_before = len(n.host.calls)
        n.pump(600)
        self.assertEqual(n.host.calls[calls_before:], [], "no event, no call: nothing polls")
        # A public message without a mention: counted, not announced.
        a.click([{"action": "new", "seq": 1, "topic": "Общая", "participants": "", "text": "всем привет"}])
        self.assertTrue(pump_until(n, lambda: n.unread == 1))
        self.assertEqual(session.shown, [])
        self.assertEqual(session.title, "(1) Управление торговлей")
        # A private message: announced with the sender, the topic and the first words.
        long_text = "Петр, посмотрите, пожалуйста, счет номер 4411 от поставщика, там ошибка в сумме и в дате отгрузки"
        a.click([{"action": "new", "seq": 2, "topic": "Счет", "participants": json.dumps(["Петров"]), "text": long_text}])
        self.assertTrue(pump_until(n, lambda: len(session.shown) == 1))
        title, group, words = session.shown[0]
        self.assertEqual(title, "Иванов — Счет")
        self.assertEqual(words, " ".join(long_text.split()[:12]) + "…")
        self.assertEqual(session.title, "(2) Управление торговлей")
        # A mention in a public topic: announced; own messages never.
        a.host.call("SendMessage", "Общая", "", "@петров глянь склад")
        self.assertTrue(pump_until(n, lambda: len(session.shown) == 2))
        self.assertEqual(session.shown[1][0], "Иванов — Общая")
        n.host.call("SendMessage", "Общая", "", "сам себе @Петров")
        n.pump(800)
        self.assertEqual(len(session.shown), 2, "own message announced")
        # Clicking opens the chat form at that conversation.
        form = n.click(0, self.store)
        self.forms.append(form)
        self.assertEqual(form.page.opened, [group])
        # Reading it in the form lowers the count without waiting for an event.
        newest = max(m["id"] for m in json.loads(form.host.call("GetMessages", group, 0, 10)))
        form.click([{"action": "read", "group": group, "upTo": newest}])
        self.assertEqual(n.unread, 2)
        self.assertEqual(session.title, "(2) Управление торговлей")
        self.assertIn(2, session.broadcasts)
        # While a chat form is in the active window there are no pop-ups (the count still moves).
        session.chat_on_screen = True
        a.click([{"action": "send", "seq": 3, "group": group, "topic": "Счет",
                  "participants": json.dumps(["Иванов", "Петров"]), "text": "еще одно"}])
        self.assertTrue(pump_until(n, lambda: n.unread == 3))
        self.assertEqual(len(session.shown), 2)

    def test_a_user_with_more_groups_than_the_list_shows(self):
        # 60 groups: the form lists the newest 50 (as FillChat), "more conversations" asks
        # for 50 more; the notifier counts every group's unread messages and announces only
        # what came after it connected, also in a group the list did not hold.
        session = Session(app_title="УТ")
        a = self.form("Иванов")
        for n in range(60):
            a.host.call("SendMessage", "Тема %d" % n, json.dumps(["Петров"]), "первое %d" % n)
        old = json.loads(a.host.call("GetGroups"))[-1]["id"]   # "Тема 0", the oldest
        b = self.form("Петров")
        self.assertEqual((len(b.page.groups), b.page.groups_limit), (LISTED, LISTED))
        self.assertNotIn(old, [g["id"] for g in b.page.groups])
        b.click([{"action": "groups", "limit": LISTED + 50}])
        self.assertEqual((len(b.page.groups), b.page.groups_limit), (60, LISTED + 50))
        self.assertEqual(b.groups_limit, LISTED + 50, "later lists keep the new limit")
        n = self.notifier("Петров", session)
        self.assertEqual(n.unread, 60, "the count covers the groups beyond the list")
        self.assertEqual(session.title, "(60) УТ")
        a.host.call("SendMessage", "Тема 0", json.dumps(["Петров"]), "второе в старой")
        self.assertTrue(pump_until(n, lambda: len(session.shown) == 1))
        self.assertEqual(session.shown[0][0], "Иванов — Тема 0",
                         "one message announced, not the group's whole page: %r" % session.shown)
        self.assertTrue(pump_until(n, lambda: n.unread == 61))
        # A second message there: the group is known, so no list is asked for.
        calls_before = len(n.host.calls)
        a.host.call("SendMessage", "Тема 0", json.dumps(["Петров"]), "третье в старой")
        self.assertTrue(pump_until(n, lambda: len(session.shown) == 2))
        self.assertEqual(sorted(set(n.host.calls[calls_before:])), ["GetMessages", "GetUnread"])
        # The form got it too (the group is now the newest), with the limit asked for.
        self.assertTrue(pump_until(b, lambda: b.page.groups and b.page.groups[0]["id"] == old))
        self.assertEqual(b.page.groups_limit, LISTED + 50)

    def test_a_cleared_filter_brings_the_short_list_back(self):
        # The page's filter asks for the whole list (limit 0); cleared, it asks for the limit
        # it had before, smaller: later events reload the short list again, not the whole one
        # until the form closes.
        a = self.form("Иванов")
        for n in range(60):
            a.host.call("SendMessage", "Тема %d" % n, json.dumps(["Петров"]), "первое %d" % n)
        old = json.loads(a.host.call("GetGroups"))[-1]["id"]   # "Тема 0", the oldest
        b = self.form("Петров")
        b.click([{"action": "groups", "limit": 0}])
        self.assertEqual((len(b.page.groups), b.page.groups_limit, b.groups_limit), (60, 0, 0))
        b.click([{"action": "groups", "limit": LISTED}])
        self.assertEqual((len(b.page.groups), b.page.groups_limit, b.groups_limit), (LISTED, LISTED, LISTED))
        a.host.call("SendMessage", "Тема 0", json.dumps(["Петров"]), "второе в старой")
        self.assertTrue(pump_until(b, lambda: b.page.groups and b.page.groups[0]["id"] == old))
        self.assertEqual((len(b.page.groups), b.page.groups_limit), (LISTED, LISTED),
                         "the event's list has the smaller limit again")

    def test_store_is_chosen_on_the_client(self):
        base = os.path.join(self.dir, "База Торговли")
        os.makedirs(base)
        # File infobase: the client's own File= path, next to the base.
        s = Session(connection_string='File="%s";Usr="Иванов";' % base.replace('"', '""'))
        self.assertEqual(default_store(s), os.path.join(base, "chat1c.sqlite"))
        f = self.form("Иванов", store=None, session=s)
        self.assertTrue(f.is_open())
        self.assertEqual(f.host.get("Store"), os.path.join(base, "chat1c.sqlite"))
        self.assertEqual(f.warning, "")
        # Client-server or web-published: no path of its own, so a clear warning.
        for cs in ('Srvr="app1c";Ref="trade";', 'ws="http://web/trade";'):
            self.assertEqual(default_store(Session(connection_string=cs)), "", cs)
        warning = store_warning("")
        self.assertIn("на других компьютерах", warning)
        self.assertIn("Чат1СХранилище", warning)
        # The constant wins; per-OS lines; a PostgreSQL key=value string is one value, not lines.
        self.assertEqual(default_store(Session(store="/mnt/chat/c.sqlite", connection_string='Srvr="x";')), "/mnt/chat/c.sqlite")
        per_os = "Windows=\\\\srv\\chat\\c.sqlite\nLinux=/mnt/chat/c.sqlite"
        self.assertEqual(configured_store(per_os, "Linux"), "/mnt/chat/c.sqlite")
        self.assertEqual(configured_store(per_os, "MacOS"), "")
        pg = "host=db dbname=chat user=u password=p"
        self.assertEqual(configured_store(pg, "Linux"), pg)
        self.assertEqual(file_base_dir('File="C:\\Базы\\Торг""овля";'), 'C:\\Базы\\Торг"овля')

    def test_no_password_in_anything_shown(self):
        secret = "Pa55-word-not-to-show"
        f = self.form("Иванов", store="postgresql://chat:%s@127.0.0.1:1/chat?connect_timeout=2" % secret)
        self.assertFalse(f.is_open())
        self.assertTrue(f.field.startswith("Чат недоступен."), f.field)
        for shown in [f.field] + f.session.messages:
            self.assertNotIn(secret, shown)

    # ---- live messages: edit, delete, reply, the revision cursor ----

    def group_id(self, form, topic):
        return [g["id"] for g in json.loads(form.host.call("GetGroups")) if g["topic"] == topic][0]

    def two_in_a_topic(self, topic, text):
        """Иванов starts a public topic with one message; Петров's page gets it."""
        a, b = self.form("Иванов"), self.form("Петров")
        a.click([{"action": "new", "seq": 1, "topic": topic, "participants": "", "text": text, "replyTo": 0}])
        gid = self.group_id(a, topic)
        mid = a.page.ids(gid)[0]
        self.assertTrue(pump_until(b, lambda: b.page.ids(gid) == [mid]), "B never got the first message")
        return a, b, gid, mid

    def test_edit_and_delete_reach_another_users_page(self):
        a, b, gid, mid = self.two_in_a_topic("Правки", "черновик")
        a.click([{"action": "edit", "seq": 2, "group": gid, "id": mid, "text": "чистовик"}])
        self.assertEqual(a.page.errors, [])
        mine = a.page.message(gid, mid)
        self.assertEqual(mine["text"], "чистовик", "the editor's page did not get its own edit (no event for it)")
        self.assertTrue(mine["edited"])
        self.assertTrue(pump_until(b, lambda: b.page.message(gid, mid)["text"] == "чистовик"), "the edit never reached B")
        self.assertEqual(b.page.message(gid, mid), mine)
        # Only the publisher edits or deletes: B's attempts fail, each named by its seq, and change nothing.
        b.click([{"action": "edit", "seq": 7, "group": gid, "id": mid, "text": "чужое"},
                 {"action": "delete", "seq": 8, "group": gid, "id": mid}])
        self.assertEqual([seq for _, seq in b.page.errors], [7, 8])
        self.assertTrue(all(text for text, _ in b.page.errors))
        self.assertEqual(json.loads(a.host.call("GetMessages", gid, 0, 10))[0]["text"], "чистовик")
        a.click([{"action": "delete", "seq": 3, "group": gid, "id": mid}])
        self.assertTrue(a.page.message(gid, mid)["deleted"])
        self.assertTrue(pump_until(b, lambda: b.page.message(gid, mid)["deleted"]), "the delete never reached B")
        tomb = b.page.message(gid, mid)
        self.assertEqual((tomb["text"], tomb["id"]), ("", mid), "a tombstone keeps its id and loses its text")
        self.assertEqual(b.page.ids(gid), [mid])
        # A deleted message cannot be edited, even by its publisher.
        a.click([{"action": "edit", "seq": 4, "group": gid, "id": mid, "text": "воскрес"}])
        self.assertEqual([seq for _, seq in a.page.errors], [4])
        self.assertTrue(json.loads(a.host.call("GetUpdates", gid, 0, 10))[0]["deleted"])

    def test_a_burst_of_edits_at_event_queue_depth_1_loses_nothing(self):
        # B's 1C queue holds one event: most hints are refused while B is busy and offered
        # again later; B must still end with the last revision of every message.
        a = self.form("Иванов")
        b = self.form("Петров", depth=1)
        for i in range(20):
            a.host.call("SendMessage", "Очередь", "", "сообщение %d" % i)
        gid = self.group_id(a, "Очередь")
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == 20), "B has %d of 20" % len(b.page.ids(gid)))
        ids = sorted(m["id"] for m in json.loads(a.host.call("GetMessages", gid, 0, 100)))
        for round_ in range(10):
            for n, mid in enumerate(ids):
                if round_ == 9 and n % 5 == 0:
                    a.host.call("DeleteMessage", mid)
                else:
                    a.host.call("EditMessage", mid, "правка %d сообщения %d" % (round_, n))
        final = {m["id"]: m for m in json.loads(a.host.call("GetUpdates", gid, 0, 1000))}
        self.assertEqual(len(final), 20)
        shown = lambda: {mid: b.page.message(gid, mid) for mid in ids}  # noqa: E731
        self.assertTrue(pump_until(b, lambda: shown() == final, seconds=20),
                        "B lags: %s" % [(mid, m["rev"], final[mid]["rev"]) for mid, m in shown().items() if m != final[mid]])
        self.assertEqual(b.revs[gid], max(m["rev"] for m in final.values()))
        self.assertEqual(sum(1 for m in final.values() if m["deleted"]), 4)
        self.assertLess(len(b.page.revs), 20 + 200, "every change was pushed one by one: nothing was coalesced")

    def test_reply_reaches_the_other_side_and_stays_in_its_group(self):
        a, b, gid, qid = self.two_in_a_topic("Вопросы", "Сколько на складе?")
        b.click([{"action": "send", "seq": 1, "group": gid, "topic": "Вопросы", "participants": "",
                  "text": "Сто штук", "replyTo": qid}])
        self.assertEqual(b.page.errors, [])
        rid = b.page.ids(gid)[-1]
        self.assertEqual((b.page.message(gid, rid)["text"], b.page.message(gid, rid)["reply_to"]), ("Сто штук", qid))
        self.assertTrue(pump_until(a, lambda: rid in a.page.ids(gid)))
        self.assertEqual(a.page.message(gid, rid)["reply_to"], qid)
        self.assertIsNone(a.page.message(gid, qid)["reply_to"])
        # A reply to a message of another group is refused; the failed send is named by its seq.
        a.click([{"action": "new", "seq": 2, "topic": "Другая", "participants": "", "text": "здесь", "replyTo": 0}])
        other = self.group_id(a, "Другая")
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(other)) == 1))
        b.click([{"action": "send", "seq": 2, "group": other, "topic": "Другая", "participants": "",
                  "text": "не туда", "replyTo": qid}])
        self.assertEqual([seq for _, seq in b.page.errors], [2])
        self.assertEqual(len(json.loads(b.host.call("GetMessages", other, 0, 10))), 1, "the refused reply was stored")

    def test_quote_of_an_original_older_than_the_page(self):
        # The page holds the newest page only; a reply there answers a message before it: the
        # "quote" action brings exactly that message.
        a = self.form("Иванов")
        a.click([{"action": "new", "seq": 1, "topic": "Давнее", "participants": "", "text": "исходное", "replyTo": 0}])
        gid = self.group_id(a, "Давнее")
        qid = a.page.ids(gid)[0]
        for i in range(PAGE + 5):
            a.host.call("SendMessage", "Давнее", "", "потом %d" % i)
        a.host.call("SendMessage", "Давнее", "", "отвечаю на исходное", qid)
        viewer = self.form("Петров")
        viewer.action({"action": "open", "group": gid, "after": 0})
        self.assertNotIn(qid, viewer.page.ids(gid))
        reply = viewer.page.message(gid, viewer.page.ids(gid)[-1])
        self.assertEqual(reply["reply_to"], qid)
        before = list(viewer.page.added)
        viewer.click([{"action": "quote", "group": gid, "id": qid}])
        self.assertEqual(viewer.page.added[len(before):], [qid], "the quote brings the original and nothing else")
        self.assertEqual(viewer.page.message(gid, qid)["text"], "исходное")

    def test_revision_cursor_per_group(self):
        a, b = self.form("Иванов"), self.form("Петров")
        a.click([{"action": "new", "seq": 1, "topic": "Курсор", "participants": "", "text": "m0", "replyTo": 0}])
        gid = self.group_id(a, "Курсор")
        for i in range(2 * PAGE + 10):
            a.host.call("SendMessage", "Курсор", "", "m%d" % (i + 1))
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == 2 * PAGE + 11))
        store = lambda: json.loads(a.host.call("GetUpdates", gid, 0, 1000))  # noqa: E731
        self.assertEqual(b.revs[gid], max(m["rev"] for m in store()), "the cursor is the highest rev loaded")
        self.assertEqual(b.cursors[gid], max(b.page.ids(gid)))
        # A pull with nothing new hands nothing over.
        added = len(b.page.added)
        b.pull_new([gid])
        self.assertEqual(len(b.page.added), added)
        self.assertEqual(b.host.calls[-1], "GetUpdates")
        # An edit of the oldest message comes by the cursor too (its id is far below it).
        first = b.page.ids(gid)[0]
        a.host.call("EditMessage", first, "m0, исправлено")
        self.assertTrue(pump_until(b, lambda: b.page.message(gid, first)["text"] == "m0, исправлено"))
        self.assertEqual(b.revs[gid], max(m["rev"] for m in store()))
        self.assertEqual(len(b.page.added), added + 1, "only the edited message was handed over")
        # Cursors are per group: a change elsewhere moves only that group's.
        a.click([{"action": "new", "seq": 2, "topic": "Соседняя", "participants": "", "text": "x", "replyTo": 0}])
        other = self.group_id(a, "Соседняя")
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(other)) == 1))
        self.assertEqual(b.revs[gid], max(m["rev"] for m in store()))
        self.assertGreater(b.revs[other], b.revs[gid])
        # A page that holds nothing of the group: "open" starts the cursor at its newest page...
        c = self.form("Сидоров")
        c.action({"action": "open", "group": gid, "after": 0})
        page = [c.page.message(gid, mid) for mid in c.page.ids(gid)]
        self.assertEqual(c.revs[gid], max(m["rev"] for m in page))
        # ...and "older" leaves it where it is: an edit of a held message made before an older
        # page that carries a newer edit must still arrive.
        held = c.page.ids(gid)[-1]
        just_before = c.page.ids(gid)[0] - 1
        a.host.call("EditMessage", held, "правка держимого")
        a.host.call("EditMessage", just_before, "правка старого")
        cursor = c.revs[gid]
        c.action({"action": "older", "group": gid, "before": c.page.ids(gid)[0]})
        self.assertEqual(c.page.message(gid, just_before)["text"], "правка старого")
        self.assertEqual(c.revs[gid], cursor, "an older page moved the revision cursor")
        self.assertTrue(pump_until(c, lambda: c.page.message(gid, held)["text"] == "правка держимого"),
                        "the edit of a held message was skipped")
        # "open" of a conversation the page holds pulls by the cursor (nothing new: nothing).
        added = len(c.page.added)
        c.action({"action": "open", "group": gid, "after": held})
        self.assertEqual(len(c.page.added), added)

    # ---- find, share, link ----

    def test_search_through_the_kit(self):
        a, b, c = self.form("Иванов"), self.form("Петров"), self.form("Сидоров")
        a.click([{"action": "new", "seq": 1, "topic": "Ёлка", "participants": json.dumps(["Петров"]),
                  "text": "Где счет за ЁЛКУ?"},
                 {"action": "new", "seq": 2, "topic": "Общая", "participants": "", "text": "елка приехала"}])
        old = a.host.call("SendMessage", "Общая", "", "старая елка")
        a.host.call("DeleteMessage", old)
        c.click([{"action": "search", "seq": 5, "text": "ёлк", "group": 0}])
        self.assertEqual([m["text"] for m in c.page.found[5]], ["елка приехала"],
                         "another's private group or a tombstone found")
        b.click([{"action": "search", "seq": 6, "text": "елк", "group": 0}])
        self.assertEqual([m["text"] for m in b.page.found[6]], ["елка приехала", "Где счет за ЁЛКУ?"], "newest first, ё = е")
        # Too short: the failure names the search's seq, so the page stops waiting for it.
        b.click([{"action": "search", "seq": 7, "text": "ёл", "group": 0}])
        self.assertNotIn(7, b.page.found)
        self.assertEqual([seq for _, seq in b.page.errors], [7])
        self.assertTrue(b.page.errors[0][0])

    def test_a_found_message_opens_with_the_history_around_it(self):
        a, b = self.form("Иванов"), self.form("Петров")   # B's page has held nothing of it
        a.click([{"action": "new", "seq": 1, "topic": "Длинная", "participants": "", "text": "m0"}])
        gid = self.group_id(a, "Длинная")
        for i in range(1, 3 * PAGE):
            a.host.call("SendMessage", "Длинная", "", "нужное слово" if i == PAGE else "m%d" % i)
        b.click([{"action": "search", "seq": 1, "text": "нужное", "group": 0}])
        target = b.page.found[1][0]["id"]
        self.assertNotIn(gid, b.revs)
        b.click([{"action": "around", "seq": 2, "group": gid, "id": target}])
        group, older, newer, has_older, has_newer = b.page.windows[0]
        self.assertEqual((group, older[-1], len(older), len(newer), has_older, has_newer), (gid, target, PAGE, PAGE, True, True))
        self.assertEqual(newer, list(range(target + 1, target + 1 + PAGE)))
        self.assertEqual(b.page.answers[-1], 2, "the window names its request")
        self.assertEqual(b.revs[gid], max(b.page.message(gid, m)["rev"] for m in older + newer),
                         "the page holds only the window: the revision cursor moves to its newest change")
        # Below the window, page after page; the revision cursor stays (as for "older").
        cursor = b.revs[gid]
        b.click([{"action": "newer", "seq": 3, "group": gid, "after": newer[-1]}])
        self.assertEqual(b.page.appended[-1][1][0], newer[-1] + 1)
        self.assertEqual((b.revs[gid], b.page.answers[-1]), (cursor, 3))
        last = b.page.appended[-1][1][-1]
        b.click([{"action": "newer", "seq": 4, "group": gid, "after": last}])
        self.assertFalse(b.page.appended[-1][2], "the end of the conversation: no more pages")
        # An edit in the window reaches the page by the cursor.
        a.host.call("EditMessage", target, "нужное слово, исправлено")
        self.assertTrue(pump_until(b, lambda: b.page.message(gid, target)["text"] == "нужное слово, исправлено"))
        # A window that cannot be had: the failure names its seq.
        b.click([{"action": "around", "seq": 9, "group": 999999, "id": 1}])
        self.assertEqual(b.page.errors[-1][1], 9)

    def test_files_sent_shown_and_saved(self):
        png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                            "0000000d4944415478da63f8cfc0f01f0005000201b2d5a4a00000000049454e44ae426082")
        a, b, c = self.form("Иванов"), self.form("Петров"), self.form("Сидоров")
        a.click([{"action": "new", "seq": 1, "topic": "Сканы", "participants": json.dumps(["Петров"]), "text": "лови"}])
        gid = self.group_id(a, "Сканы")
        self.assertTrue(pump_until(b, lambda: len(b.page.ids(gid)) == 1))
        # SendFile from BSL; the other side's page gets the message with its file.
        mid = a.host.call("SendFile", "Сканы", json.dumps(["Петров"]), "скан.png", {"blob": png.hex()}, "счет")
        self.assertTrue(pump_until(b, lambda: mid in b.page.ids(gid)))
        f = b.page.message(gid, mid)["files"][0]
        self.assertEqual((f["name"], f["size"], f["type"]), ("скан.png", len(png), "image/png"))
        # Inline: the kit hands the page base64 with Base64Строка's line breaks.
        b.click([{"action": "image", "id": f["id"], "type": "image/png"}])
        b64, mime = b.page.file_data[f["id"]]
        self.assertEqual((base64.b64decode(b64), mime), (png, "image/png"))
        # Saving: 1C's save dialog, then GetFile and the file on the client's disk.
        b.click([{"action": "save", "id": f["id"], "name": f["name"]}])
        self.assertEqual(b.session.dialogs[-1], ("save", "скан.png", f["id"]))
        path = os.path.join(self.dir, "сохранено.png")
        b.save_chosen(None, f["id"])                          # the dialog cancelled: nothing read
        self.assertFalse(os.path.exists(path))
        b.save_chosen([path], f["id"])
        with open(path, "rb") as saved:
            self.assertEqual(saved.read(), png)
        self.assertEqual(b.session.shown[-1][2], path)
        # Who cannot see the message cannot have its file: the page shows a card instead.
        c.click([{"action": "image", "id": f["id"], "type": "image/png"}])
        self.assertEqual(c.page.file_data[f["id"]], ("", "image/png"))
        # A file the page read itself (drag-and-drop, paste): base64 by the action's seq.
        a.page.outbox[7] = base64.b64encode(b"a;b\n1;2\n").decode()
        a.click([{"action": "file", "seq": 7, "group": gid, "name": "таблица.csv", "size": 8}])
        posted = [m for m in a.page.messages[gid].values() if m["files"] and m["files"][0]["name"] == "таблица.csv"]
        self.assertEqual(len(posted), 1, "the sender's page did not get its own file")
        self.assertEqual(bytes.fromhex(b.host.call("GetFile", posted[0]["files"][0]["id"])["blob"]), b"a;b\n1;2\n")
        self.assertEqual(a.page.errors, [])
        a.click([{"action": "file", "seq": 8, "group": gid, "name": "пропал.txt", "size": 1}])
        self.assertEqual(a.page.errors[-1], (CLIENT.nstr("ДанныеФайлаСоСтраницы", 0), 8),
                         "a file the page no longer has is 'not sent', by its seq")
        # 1C's file dialog (the attach button, engines that cannot read a drop): read on the client.
        a.click([{"action": "attach", "group": gid}])
        self.assertEqual(a.session.dialogs[-1], ("open", gid))
        small, big = os.path.join(self.dir, "акт.txt"), os.path.join(self.dir, "видео.mp4")
        with open(small, "wb") as out:
            out.write("акт сверки".encode())
        with open(big, "wb") as out:
            out.truncate(FILE_MAX + 1)                        # sparse: never read, refused by its size
        errors = len(a.page.errors)
        a.files_chosen([big, small], gid)
        self.assertEqual(a.page.errors[errors:], [(str_template(CLIENT.nstr("ОтправитьФайлСДиска"), "видео.mp4"), None)])
        names = [m["files"][0]["name"] for m in a.page.messages[gid].values() if m["files"]]
        self.assertIn("акт.txt", names)
        self.assertNotIn("видео.mp4", names)
        # A deleted message's file is gone: no image, and saving says why.
        a.host.call("DeleteMessage", mid)
        b.click([{"action": "image", "id": f["id"], "type": "image/png"}])
        self.assertEqual(b.page.file_data[f["id"]][0], "")
        b.save_chosen([os.path.join(self.dir, "снова.png")], f["id"])
        self.assertTrue(b.page.errors and b.page.errors[-1][0])

    def test_a_discussion_on_an_object_form(self):
        link = "e1cib/data/Документ.Счет?ref=8a3f00aa11bb"
        # A new object has no link yet: nothing attaches, the field says why.
        draft = self.form("Иванов", discuss=("", "Счет (новый)"))
        self.assertIsNone(draft.host)
        self.assertEqual(draft.field, CLIENT.nstr("ТекстОбъектНеЗаписан"))
        full = self.form("Сидоров")       # the whole chat elsewhere: the discussion is none of its business
        a = self.form("Иванов", discuss=(link, "Счет 12 от 01.12.2026"))
        b = self.form("Петров", discuss=(link, "Счет 12 от 01.12.2026 (исправлен)\n"))
        self.assertEqual(a.discussion, b.discussion, "the same object gave two discussions")
        gid = a.discussion
        self.assertIn('"group":%d' % gid, a.html, "FillChat(Group): the page shows that conversation only")
        self.assertNotIn(gid, [g["id"] for g in json.loads(a.host.call("GetGroups"))], "listed before taking part")
        for f in (a, b):
            f.document_formed()
            f.action({"action": "open", "seq": 1, "group": gid, "after": 0})
        self.assertEqual(b.page.title, "Счет 12 от 01.12.2026 (исправлен)")
        self.assertEqual(b.page.object, (link, "Счет 12 от 01.12.2026 (исправлен)"))
        # Posting by id: the page's "post"; the other form, which does not list it, gets it by events.
        b.click([{"action": "post", "seq": 2, "group": gid, "text": "Сумма верна?", "replyTo": 0}])
        self.assertEqual(b.page.errors, [])
        mid = b.page.ids(gid)[-1]
        self.assertTrue(pump_until(a, lambda: mid in a.page.ids(gid)), "the discussion's change never reached A")
        a.click([{"action": "post", "seq": 3, "group": gid, "text": "Да, @Петров", "replyTo": mid}])
        reply = a.page.message(gid, a.page.ids(gid)[-1])
        self.assertEqual((reply["reply_to"], reply["mentions"]), (mid, ["Петров"]))
        self.assertTrue(pump_until(b, lambda: reply["id"] in b.page.ids(gid)))
        # The retitle renamed the one group; now that B wrote in it, it is listed for B.
        listed = {g["id"]: g for g in json.loads(b.host.call("GetGroups"))}
        self.assertEqual((listed[gid]["topic"], listed[gid]["context"]), ("Счет 12 от 01.12.2026 (исправлен)", link))
        # An event about another conversation costs the object's forms no call at all.
        calls_before = len(a.host.calls)
        full.host.call("SendMessage", "Новости", "", "не про счет")
        self.assertTrue(a.pump(800), "the object's form heard of the other conversation")
        self.assertEqual(a.host.calls[calls_before:], [], "the object's form called on another group's event")
        # A form of the whole chat gets hints about every discussion (they are public), but
        # pulls none it neither lists nor has opened.
        full.pump(800)
        self.assertNotIn(gid, full.page.messages)
        self.assertNotIn("GetUpdates", full.host.calls)
        # Whoever is mentioned in it has it listed, and hears of it outside the form too.
        session = Session()
        n = self.notifier("Сидоров", session)
        a.click([{"action": "post", "seq": 6, "group": gid, "text": "@Сидоров, оплатите, пожалуйста", "replyTo": 0}])
        self.assertTrue(pump_until(n, lambda: len(session.shown) == 1), "the mention in a discussion was not announced")
        self.assertEqual(session.shown[0][:2], ("Иванов — Счет 12 от 01.12.2026 (исправлен)", gid))
        # Opened there from a search result, it is pulled like any other.
        full.click([{"action": "around", "seq": 4, "group": gid, "id": mid}])
        a.click([{"action": "post", "seq": 5, "group": gid, "text": "Итог: оплачено", "replyTo": 0}])
        last = a.page.ids(gid)[-1]
        self.assertTrue(pump_until(full, lambda: last in full.page.ids(gid)))
        # ПодключитьЧат on an object's form offers "insert a link" to it.
        on_doc = self.form("Петров", obj=object_description(link, "Счет 12"))
        on_doc.document_formed()
        self.assertEqual((on_doc.page.object, on_doc.page.title), ((link, "Счет 12"), None))

    def test_only_web_and_1c_links_are_opened(self):
        a = self.form("Иванов")
        links = ["https://example.com/x", "http://intranet/a", "e1cib/data/Документ.Счет?ref=00aa",
                 "E1C://server/base#e1cib/list/Документ.Счет",
                 "javascript:alert(1)", "file:///etc/passwd", "vbscript:msgbox(1)", "e1cib/", "ftp://host/x",
                 "C:\\Windows\\notepad.exe", " javascript:e1cib/x"]
        a.click([{"action": "link", "url": u} for u in links])
        self.assertEqual(a.session.navigated, links[:4])
        self.assertEqual(a.page.errors, [])

if __name__ == "__main__":
    unittest.main()
