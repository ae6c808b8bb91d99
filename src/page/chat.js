/*
 * chat1c page script. ES5 on purpose: before 8.3.14 the Windows HTML field is Internet
 * Explorer, and old WebKitGTK builds on Linux reject `const` in strict mode; one newer
 * token there kills the whole page. So: var only, no arrows, template strings, classes,
 * destructuring, spread, for...of, and no built-in newer than ES5 (includes, Object.assign,
 * Promise, startsWith...) nor DOM API missing from IE11 without a guarded fallback.
 * tests/page/es5.js checks this with acorn (ecmaVersion 5) and eslint-plugin-es-x.
 * A failure that still happens shows in the banner (window.onerror in chat.html).
 * All user content goes in through textContent; links only for http(s).
 *
 * BRIDGE (final names; package/ BSL and tests/page use exactly these)
 *
 * 1C -> page: functions on window (Элементы[<the field>].Документ.defaultView.<name>(...)).
 * Each accepts JSON as a string (or an already parsed value) and returns true, or
 * false after showing an error when the input is unusable.
 *   chatSetGroups(groupsJson)        replace the groups list (GetGroups JSON array)
 *   chatAddMessages(messagesJson)    merge messages (any groups; deduped by id, kept ascending);
 *                                    new ones end up at the bottom of the open conversation
 *   chatPrependMessages(groupId, messagesJson, hasMore)
 *                                    older page for a group (answer to "older", and to "open"
 *                                    with after = 0); hasMore = false hides "load older"
 *   chatMarkRead(groupId, upTo)      the read mark moved (e.g. from another window)
 *   chatSetUser(user, lang)          user name and UI language ("ru" or "en")
 *   chatShowError(text, failedSeq)   show an error banner; when the failed call was a "send" or
 *                                    "new" action, failedSeq is its seq and only that send is
 *                                    marked "not sent" (a failed read after a good send is not)
 *   chatSetPeople(peopleJson)        the infobase users offered in "new conversation":
 *                                    [{"name":S,"title":S}...] (name = what SendMessage takes)
 *   chatOpenGroup(groupId)           open a conversation as if the user clicked it
 *   chatTakeActions()                -> JSON array string of queued actions; clears the queue
 *
 * Page -> 1C: the page queues actions and then clicks the hidden element with
 * id "chat1c-notify" (asynchronously, never inside a 1C -> page call), so the field's
 * ПриНажатии fires with ДанныеСобытия.Element.id = "chat1c-notify". The form then calls
 * chatTakeActions() once and handles every action in order. Actions queued before 1C
 * reads stay queued: none is lost, and a click with an empty queue is harmless.
 *   {"action":"open",  "group":N, "after":N}
 *        after = the newest id the page holds (0: none) ->
 *        after = 0: chatPrependMessages(N, GetMessages(N, 0, L), count = L)
 *        else:      chatAddMessages(GetMessages(N, after, L))
 *   {"action":"older", "group":N, "before":N} -> chatPrependMessages(N, GetHistory(N, before, L), count = L)
 *   {"action":"send",  "seq":N, "group":N, "topic":S, "participants":S, "text":S}
 *        -> SendMessage(topic, participants, text); participants is already in SendMessage's
 *           format ("" for a public topic, else a JSON array string). The sending object
 *           gets no event for its own message: the form pulls right after the send
 *           (GetMessages -> chatAddMessages). If SendMessage itself fails: chatShowError(text, seq).
 *   {"action":"new",   "seq":N, "topic":S, "participants":S, "text":S}
 *        -> SendMessage(topic, participants, text), then chatSetGroups(GetGroups()) and
 *           chatAddMessages(...); the page opens the new group itself when it appears.
 *   {"action":"people"} -> chatSetPeople(the infobase users); asked once, when "new
 *           conversation" is first shown
 *   {"action":"read",  "group":N, "upTo":N}  -> MarkRead(group, upTo)
 *   {"action":"link",  "url":S}   (http/https only) -> ПерейтиПоНавигационнойСсылке(url)
 * On any other failure the form calls chatShowError(ОписаниеОшибки()) without a seq.
 */
(function () {
  'use strict';

  var STRINGS = {
    en: {
      title: 'Chat', you: 'You', newConversation: 'New conversation', search: 'Search',
      noGroups: 'No conversations yet', noMatch: 'Nothing found',
      selectConv: 'Select a conversation or start a new one', loadOlder: 'Load older messages',
      loading: 'Loading\u2026', noMessages: 'No messages yet. Say hello!',
      typeMessage: 'Write a message\u2026', send: 'Send (Enter)', back: 'Back', topic: 'Topic',
      participants: 'Participants',
      participantsHint: 'Names separated by \u201c;\u201d. Leave empty for a public topic.',
      firstMessage: 'Message', create: 'Start', cancel: 'Cancel', everyone: 'Everyone',
      today: 'Today', yesterday: 'Yesterday', sending: 'sending\u2026', notSent: 'not sent',
      close: 'Close', creating: 'Creating\u2026', retry: 'Not sent. Click to edit and send again.', needTopic: 'Enter a topic.',
      needText: 'Enter a message.', badInput: 'The chat got data it cannot show',
      choosePeople: 'Choose from the users of the infobase or type names',
      months: ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
        'September', 'October', 'November', 'December'],
      monthsShort: ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'],
      dayFirst: false
    },
    ru: {
      title: '\u0427\u0430\u0442', you: '\u0412\u044b', newConversation: '\u041d\u043e\u0432\u044b\u0439 \u0440\u0430\u0437\u0433\u043e\u0432\u043e\u0440',
      search: '\u041f\u043e\u0438\u0441\u043a', noGroups: '\u0420\u0430\u0437\u0433\u043e\u0432\u043e\u0440\u043e\u0432 \u043f\u043e\u043a\u0430 \u043d\u0435\u0442',
      noMatch: '\u041d\u0438\u0447\u0435\u0433\u043e \u043d\u0435 \u043d\u0430\u0439\u0434\u0435\u043d\u043e',
      selectConv: '\u0412\u044b\u0431\u0435\u0440\u0438\u0442\u0435 \u0440\u0430\u0437\u0433\u043e\u0432\u043e\u0440 \u0438\u043b\u0438 \u043d\u0430\u0447\u043d\u0438\u0442\u0435 \u043d\u043e\u0432\u044b\u0439',
      loadOlder: '\u041f\u043e\u043a\u0430\u0437\u0430\u0442\u044c \u0431\u043e\u043b\u0435\u0435 \u0440\u0430\u043d\u043d\u0438\u0435',
      loading: '\u0417\u0430\u0433\u0440\u0443\u0437\u043a\u0430\u2026',
      noMessages: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0439 \u043f\u043e\u043a\u0430 \u043d\u0435\u0442. \u041d\u0430\u043f\u0438\u0448\u0438\u0442\u0435 \u043f\u0435\u0440\u0432\u044b\u043c!',
      typeMessage: '\u041d\u0430\u043f\u0438\u0448\u0438\u0442\u0435 \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435\u2026',
      send: '\u041e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u044c (Enter)', back: '\u041d\u0430\u0437\u0430\u0434',
      topic: '\u0422\u0435\u043c\u0430', participants: '\u0423\u0447\u0430\u0441\u0442\u043d\u0438\u043a\u0438',
      participantsHint: '\u0418\u043c\u0435\u043d\u0430 \u0447\u0435\u0440\u0435\u0437 \u00ab;\u00bb. \u041f\u0443\u0441\u0442\u043e \u2014 \u043e\u0442\u043a\u0440\u044b\u0442\u0430\u044f \u0442\u0435\u043c\u0430 \u0434\u043b\u044f \u0432\u0441\u0435\u0445.',
      firstMessage: '\u0421\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435', create: '\u041d\u0430\u0447\u0430\u0442\u044c',
      cancel: '\u041e\u0442\u043c\u0435\u043d\u0430', everyone: '\u0412\u0441\u0435',
      today: '\u0421\u0435\u0433\u043e\u0434\u043d\u044f', yesterday: '\u0412\u0447\u0435\u0440\u0430',
      sending: '\u043e\u0442\u043f\u0440\u0430\u0432\u043a\u0430\u2026', notSent: '\u043d\u0435 \u043e\u0442\u043f\u0440\u0430\u0432\u043b\u0435\u043d\u043e',
      retry: '\u041d\u0435 \u043e\u0442\u043f\u0440\u0430\u0432\u043b\u0435\u043d\u043e. \u041d\u0430\u0436\u043c\u0438\u0442\u0435, \u0447\u0442\u043e\u0431\u044b \u0438\u0441\u043f\u0440\u0430\u0432\u0438\u0442\u044c \u0438 \u043e\u0442\u043f\u0440\u0430\u0432\u0438\u0442\u044c \u0441\u043d\u043e\u0432\u0430.',
      close: '\u0417\u0430\u043a\u0440\u044b\u0442\u044c', creating: '\u0421\u043e\u0437\u0434\u0430\u043d\u0438\u0435\u2026',
      needTopic: '\u0423\u043a\u0430\u0436\u0438\u0442\u0435 \u0442\u0435\u043c\u0443.',
      needText: '\u041d\u0430\u043f\u0438\u0448\u0438\u0442\u0435 \u0441\u043e\u043e\u0431\u0449\u0435\u043d\u0438\u0435.',
      badInput: '\u0427\u0430\u0442 \u043f\u043e\u043b\u0443\u0447\u0438\u043b \u0434\u0430\u043d\u043d\u044b\u0435, \u043a\u043e\u0442\u043e\u0440\u044b\u0435 \u043d\u0435 \u043c\u043e\u0436\u0435\u0442 \u043f\u043e\u043a\u0430\u0437\u0430\u0442\u044c',
      choosePeople: '\u0412\u044b\u0431\u0435\u0440\u0438\u0442\u0435 \u0438\u0437 \u043f\u043e\u043b\u044c\u0437\u043e\u0432\u0430\u0442\u0435\u043b\u0435\u0439 \u0431\u0430\u0437\u044b \u0438\u043b\u0438 \u0432\u0432\u0435\u0434\u0438\u0442\u0435 \u0438\u043c\u0435\u043d\u0430',
      months: ['\u044f\u043d\u0432\u0430\u0440\u044f', '\u0444\u0435\u0432\u0440\u0430\u043b\u044f', '\u043c\u0430\u0440\u0442\u0430',
        '\u0430\u043f\u0440\u0435\u043b\u044f', '\u043c\u0430\u044f', '\u0438\u044e\u043d\u044f', '\u0438\u044e\u043b\u044f',
        '\u0430\u0432\u0433\u0443\u0441\u0442\u0430', '\u0441\u0435\u043d\u0442\u044f\u0431\u0440\u044f',
        '\u043e\u043a\u0442\u044f\u0431\u0440\u044f', '\u043d\u043e\u044f\u0431\u0440\u044f', '\u0434\u0435\u043a\u0430\u0431\u0440\u044f'],
      monthsShort: ['\u044f\u043d\u0432', '\u0444\u0435\u0432', '\u043c\u0430\u0440', '\u0430\u043f\u0440', '\u043c\u0430\u044f',
        '\u0438\u044e\u043d', '\u0438\u044e\u043b', '\u0430\u0432\u0433', '\u0441\u0435\u043d', '\u043e\u043a\u0442',
        '\u043d\u043e\u044f', '\u0434\u0435\u043a'],
      dayFirst: true
    }
  };

  // A run of messages from one author within this gap shares one header.
  var RUN_GAP_MS = 5 * 60 * 1000;
  // Distance from the bottom that still counts as "reading the newest".
  var BOTTOM_SLACK_PX = 48;
  // Messages put in the DOM at a time: a long history is revealed in chunks as the
  // reader scrolls up, so opening a 1,000-message group stays fast in an old WebKit.
  var WINDOW = 150;

  var S = {
    user: '', lang: 'en', groups: [], byId: {}, convs: {}, current: null,
    mode: 'none', filter: '', queue: [], notifyTimer: 0, readSent: {}, drafts: {},
    pending: [], pendingSeq: 0, pendingNew: null, newBelow: 0, errorTimer: 0,
    // Infobase users for "new conversation": null until 1C answers the "people" action.
    people: null, peopleAsked: false
  };

  function $(id) { return document.getElementById(id); }
  var root = $('chat1c-root');
  var el = {
    meAvatar: $('me-avatar'), meName: $('me-name'), newBtn: $('new-btn'), filter: $('filter'),
    groups: $('groups'), groupsEmpty: $('groups-empty'), convAvatar: $('conv-avatar'),
    convTopic: $('conv-topic'), convPeople: $('conv-people'), messages: $('messages'),
    olderBtn: $('older-btn'), status: $('conv-status'), list: $('msg-list'), pendingList: $('pending-list'),
    jump: $('jump-btn'), jumpCount: $('jump-count'), composer: $('composer'), input: $('input'),
    newForm: $('new-form'), newTopic: $('new-topic'), newPeople: $('new-people'), newText: $('new-text'),
    newHint: $('new-hint'), peopleList: $('new-people-list'), error: $('error'), errorText: $('error-text'), notify: $('chat1c-notify')
  };

  function t(key) {
    var table = STRINGS[S.lang] || STRINGS.en;
    return table[key] === undefined ? STRINGS.en[key] : table[key];
  }

  function normLang(lang) {
    return String(lang || '').toLowerCase().indexOf('ru') === 0 ? 'ru' : 'en';
  }

  function sameUser(a, b) {
    return String(a).toLowerCase() === String(b).toLowerCase();
  }

  function node(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  // ---- data shapes (input from 1C is checked, never trusted) ----

  function isId(v) { return typeof v === 'number' && isFinite(v); }

  function normMsg(m) {
    if (!m || typeof m !== 'object' || !isId(m.id) || !isId(m.group)) return null;
    return {
      id: m.id, group: m.group, period: String(m.period || ''),
      publisher: String(m.publisher === undefined || m.publisher === null ? '' : m.publisher),
      text: String(m.text === undefined || m.text === null ? '' : m.text),
      time: parsePeriod(m.period)
    };
  }

  function normGroup(g) {
    if (!g || typeof g !== 'object' || !isId(g.id)) return null;
    var parts = Array.isArray(g.participants) ? g.participants.map(String) : [];
    return {
      id: g.id, topic: String(g.topic === undefined || g.topic === null ? '' : g.topic),
      participants: parts, unread: isId(g.unread) && g.unread > 0 ? g.unread : 0,
      last: normMsg(g.last)
    };
  }

  function parseJson(v) {
    return typeof v === 'string' ? JSON.parse(v) : v;
  }

  function asArray(v) {
    var a = parseJson(v);
    if (!Array.isArray(a)) throw new Error('not an array');
    return a;
  }

  // "YYYY-MM-DDTHH:MM:SS.mmmZ" -> ms; parsed by hand so old engines agree.
  function parsePeriod(p) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?Z?$/.exec(String(p || ''));
    if (!m) return NaN;
    return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], m[7] ? +(m[7] + '00').slice(0, 3) : 0);
  }

  function pad2(n) { return n < 10 ? '0' + n : String(n); }

  function dayKey(ms) {
    if (!isFinite(ms)) return '';
    var d = new Date(ms);
    return d.getFullYear() + '-' + pad2(d.getMonth() + 1) + '-' + pad2(d.getDate());
  }

  function clock(ms) {
    if (!isFinite(ms)) return '';
    var d = new Date(ms);
    return pad2(d.getHours()) + ':' + pad2(d.getMinutes());
  }

  function dayLabel(ms) {
    if (!isFinite(ms)) return '';
    var now = new Date();
    var today = dayKey(now.getTime());
    var key = dayKey(ms);
    if (key === today) return t('today');
    var y = new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1);
    if (key === dayKey(y.getTime())) return t('yesterday');
    var d = new Date(ms);
    var label = t('dayFirst') ?
      d.getDate() + ' ' + t('months')[d.getMonth()] :
      t('months')[d.getMonth()] + ' ' + d.getDate();
    return d.getFullYear() === now.getFullYear() ? label : label + ' ' + d.getFullYear();
  }

  function shortWhen(ms) {
    if (!isFinite(ms)) return '';
    var now = new Date();
    if (dayKey(ms) === dayKey(now.getTime())) return clock(ms);
    var d = new Date(ms);
    if (d.getFullYear() === now.getFullYear()) {
      return t('dayFirst') ? d.getDate() + ' ' + t('monthsShort')[d.getMonth()] :
        t('monthsShort')[d.getMonth()] + ' ' + d.getDate();
    }
    return pad2(d.getDate()) + '.' + pad2(d.getMonth() + 1) + '.' + d.getFullYear();
  }

  function initials(name) {
    var words = String(name).replace(/[^0-9A-Za-z\u00C0-\u024F\u0400-\u04FF\s]/g, ' ').split(/\s+/)
      .filter(function (w) { return w.length > 0; });
    if (!words.length) return '#';
    var a = words[0].charAt(0);
    var b = words.length > 1 ? words[1].charAt(0) : '';
    return (a + b).toUpperCase();
  }

  function hue(name) {
    var s = String(name).toLowerCase();
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) % 360;
    return h;
  }

  function paintAvatar(n, name) {
    n.textContent = initials(name);
    n.style.backgroundColor = 'hsl(' + hue(name) + ',45%,55%)';
  }

  function groupTitle(g) {
    if (g.topic) return g.topic;
    return g.participants.length ? g.participants.join(', ') : t('everyone');
  }

  function peopleLine(g) {
    return g.participants.length ? g.participants.join(', ') : t('everyone');
  }

  // SendMessage's Participants: "" = public, else a JSON array (no separator ambiguity).
  function participantsArg(g) {
    return g.participants.length ? JSON.stringify(g.participants) : '';
  }

  function conv(gid) {
    var c = S.convs[gid];
    if (!c) {
      // shownFrom: id of the oldest message in the DOM (null: all of them).
      c = { list: [], ids: {}, hasMore: null, olderPending: false, tail: null, shownFrom: null };
      S.convs[gid] = c;
    }
    return c;
  }

  // ---- actions to 1C ----

  function queue(action) {
    S.queue.push(action);
    // Deferred: 1C must never be re-entered from inside its own call into the page.
    if (!S.notifyTimer) {
      S.notifyTimer = setTimeout(function () {
        S.notifyTimer = 0;
        if (S.queue.length) notify1C();
      }, 0);
    }
  }

  function notify1C() {
    var n = el.notify;
    if (typeof n.click === 'function') {
      n.click();
    } else {
      var ev = document.createEvent('MouseEvents');
      ev.initEvent('click', true, true);
      n.dispatchEvent(ev);
    }
  }

  // ---- groups list ----

  function sortGroups() {
    var idx = {};
    S.groups.forEach(function (g, i) { idx[g.id] = i; });
    S.groups.sort(function (a, b) {
      var la = a.last ? a.last.id : -1;
      var lb = b.last ? b.last.id : -1;
      if (la !== lb) return lb - la;
      return idx[a.id] - idx[b.id];
    });
  }

  function renderGroups() {
    var f = S.filter.toLowerCase();
    var frag = document.createDocumentFragment();
    var shown = 0;
    S.groups.forEach(function (g) {
      if (f && (g.topic + '\n' + g.participants.join('\n')).toLowerCase().indexOf(f) < 0) return;
      shown++;
      var li = node('li', 'group' + (g.id === S.current ? ' active' : '') + (g.unread ? ' unread' : ''));
      li.setAttribute('data-id', String(g.id));
      var av = node('span', 'avatar');
      paintAvatar(av, groupTitle(g));
      li.appendChild(av);
      var body = node('div', 'group-body');
      var r1 = node('div', 'group-row');
      r1.appendChild(node('span', 'group-topic', groupTitle(g)));
      if (g.last) r1.appendChild(node('span', 'group-time', shortWhen(g.last.time)));
      body.appendChild(r1);
      var r2 = node('div', 'group-row');
      r2.appendChild(node('span', 'group-people', peopleLine(g)));
      body.appendChild(r2);
      var r3 = node('div', 'group-row');
      var preview = '';
      if (g.last) {
        var who = sameUser(g.last.publisher, S.user) ? t('you') : g.last.publisher;
        preview = who + ': ' + g.last.text.replace(/\s+/g, ' ').slice(0, 200);
      }
      r3.appendChild(node('span', 'group-preview', preview));
      if (g.unread) r3.appendChild(node('span', 'badge', g.unread > 999 ? '999+' : g.unread));
      body.appendChild(r3);
      li.appendChild(body);
      frag.appendChild(li);
    });
    el.groups.textContent = '';
    el.groups.appendChild(frag);
    el.groupsEmpty.textContent = shown ? '' : (S.groups.length ? t('noMatch') : t('noGroups'));
    el.groupsEmpty.hidden = shown > 0;
  }

  function setGroups(arr) {
    var list = [];
    var byId = {};
    arr.forEach(function (raw) {
      var g = normGroup(raw);
      if (g && !byId[g.id]) { list.push(g); byId[g.id] = g; }
    });
    S.groups = list;
    S.byId = byId;
    // The page may know newer messages than the store answer that raced with them.
    list.forEach(function (g) {
      var c = S.convs[g.id];
      var tail = c && c.list.length ? c.list[c.list.length - 1] : null;
      if (tail && (!g.last || tail.id > g.last.id)) g.last = tail;
      // A store answer older than our own read mark must not bring the badge back.
      if (g.last && (S.readSent[g.id] || 0) >= g.last.id) g.unread = 0;
    });
    sortGroups();
    renderGroups();
    if (S.current !== null && S.byId[S.current]) renderConvHead();
    openPendingNew();
  }

  // ---- conversation ----

  function atBottom() {
    var m = el.messages;
    return m.scrollHeight - m.scrollTop - m.clientHeight < BOTTOM_SLACK_PX;
  }

  function scrollToBottom() {
    el.messages.scrollTop = el.messages.scrollHeight;
    S.newBelow = 0;
    updateJump();
  }

  function updateJump() {
    el.jumpCount.textContent = S.newBelow > 0 ? String(S.newBelow) : '';
    el.jump.className = 'jump' + (S.newBelow > 0 ? ' shown' : '');
  }

  function mainVisible() {
    if (S.mode !== 'conv') return false;
    var narrow = window.matchMedia ? window.matchMedia('(max-width: 640px)').matches : false;
    return !narrow || root.className.indexOf('show-main') >= 0;
  }

  function setMode(mode, showMain) {
    S.mode = mode;
    root.className = 'app mode-' + mode + (showMain ? ' show-main' : '');
  }

  function renderConvHead() {
    var g = S.byId[S.current];
    if (!g) return;
    paintAvatar(el.convAvatar, groupTitle(g));
    el.convTopic.textContent = groupTitle(g);
    el.convPeople.textContent = peopleLine(g);
  }

  // Builds one message element; `prev` decides day separator and run continuation.
  function messageNode(m, prev, extraCls) {
    var own = sameUser(m.publisher, S.user);
    var cont = prev && prev.publisher === m.publisher && dayKey(prev.time) === dayKey(m.time) &&
      m.time - prev.time < RUN_GAP_MS;
    var row = node('div', 'msg' + (own ? ' own' : '') + (cont ? ' cont' : '') + (extraCls || ''));
    if (isId(m.id)) row.setAttribute('data-id', String(m.id));
    if (!own) {
      var av = node('span', 'avatar small');
      paintAvatar(av, m.publisher);
      row.appendChild(av);
    }
    var bubble = node('div', 'bubble');
    if (!own && !cont) {
      var a = node('div', 'author', m.publisher);
      a.style.color = 'hsl(' + hue(m.publisher) + ',55%,38%)';
      bubble.appendChild(a);
    }
    var text = node('span', 'text');
    linkify(text, m.text);
    bubble.appendChild(text);
    // An invisible copy of the time reserves room at the end of the last line, so the
    // real (absolutely placed) time sits beside short texts instead of under them.
    var when = m.status || clock(m.time);
    bubble.appendChild(node('span', 'tspace', when));
    bubble.appendChild(node('span', 'time', when));
    row.appendChild(bubble);
    return row;
  }

  function daySeparator(ms) {
    var d = node('div', 'day');
    d.appendChild(node('span', '', dayLabel(ms)));
    return d;
  }

  function appendTo(frag, msgs, prev) {
    msgs.forEach(function (m) {
      if (!prev || dayKey(prev.time) !== dayKey(m.time)) frag.appendChild(daySeparator(m.time));
      frag.appendChild(messageNode(m, prev));
      prev = m;
    });
    return prev;
  }

  // http(s) only; everything else stays text.
  var URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;

  function linkify(parent, text) {
    var last = 0;
    var m;
    URL_RE.lastIndex = 0;
    while ((m = URL_RE.exec(text)) !== null) {
      var url = m[0].replace(/[.,;:!?)\]}]+$/, '');
      if (!url.length) continue;
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = node('a', 'link', url);
      if (/^https?:\/\//i.test(url)) {
        a.setAttribute('href', url);
        a.setAttribute('target', '_blank');
        a.setAttribute('rel', 'noopener noreferrer');
      }
      parent.appendChild(a);
      last = m.index + url.length;
      URL_RE.lastIndex = last;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderStatus(c) {
    if (c.list.length || pendingFor(S.current).length) {
      el.status.textContent = '';
    } else {
      el.status.textContent = c.hasMore === false ? t('noMessages') : t('loading');
    }
    var canOlder = c.list.length > 0 && (c.shownFrom !== null || c.hasMore !== false);
    el.olderBtn.hidden = !canOlder;
    el.olderBtn.disabled = c.olderPending;
    el.olderBtn.textContent = c.olderPending ? t('loading') : t('loadOlder');
  }

  // Full render of the open conversation; keeps the reader's distance from the bottom.
  function renderConv(keepOffset) {
    var c = conv(S.current);
    // Read the old geometry only when needed: it forces a layout of the old content.
    var fromBottom = keepOffset ? el.messages.scrollHeight - el.messages.scrollTop : 0;
    var frag = document.createDocumentFragment();
    c.tail = appendTo(frag, c.shownFrom === null ? c.list : c.list.slice(indexOfId(c.list, c.shownFrom)), null);
    el.list.textContent = '';
    el.list.appendChild(frag);
    renderPending();
    renderStatus(c);
    if (keepOffset) el.messages.scrollTop = el.messages.scrollHeight - fromBottom;
    else scrollToBottom();
  }

  // Index of the first message with id >= `id` (the list is ascending by id).
  function indexOfId(list, id) {
    var lo = 0;
    var hi = list.length;
    while (lo < hi) {
      var mid = (lo + hi) >> 1;
      if (list[mid].id < id) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // Only the newest WINDOW messages go to the DOM when a conversation is shown afresh.
  function resetWindow(c) {
    c.shownFrom = c.list.length > WINDOW ? c.list[c.list.length - WINDOW].id : null;
  }

  // Puts the previous chunk of held messages above the shown ones; the reader's view
  // does not move. Returns false when everything held is already shown.
  function revealOlder() {
    var c = conv(S.current);
    if (c.shownFrom === null) return false;
    var end = indexOfId(c.list, c.shownFrom);
    var start = Math.max(0, end - WINDOW);
    var fromBottom = el.messages.scrollHeight - el.messages.scrollTop;
    var frag = document.createDocumentFragment();
    var last = appendTo(frag, c.list.slice(start, end), null);
    // The old first message now has a predecessor: redo its separator and header.
    var firstDay = el.list.firstChild;
    var firstMsg = el.list.querySelector('.msg');
    var old = c.list[end];
    if (firstDay && firstDay.className === 'day' && dayKey(last.time) === dayKey(old.time)) el.list.removeChild(firstDay);
    if (firstMsg) el.list.replaceChild(messageNode(old, last), firstMsg);
    el.list.insertBefore(frag, el.list.firstChild);
    c.shownFrom = start === 0 ? null : c.list[start].id;
    renderStatus(c);
    el.messages.scrollTop = el.messages.scrollHeight - fromBottom;
    return true;
  }

  function pendingFor(gid) {
    return S.pending.filter(function (p) { return p.group === gid; });
  }

  function renderPending() {
    el.pendingList.textContent = '';
    var c = conv(S.current);
    var prev = c.tail;
    pendingFor(S.current).forEach(function (p) {
      var m = {
        id: null, publisher: S.user, text: p.text, time: p.time,
        status: p.failed ? t('notSent') : t('sending')
      };
      if (!prev || dayKey(prev.time) !== dayKey(m.time)) el.pendingList.appendChild(daySeparator(m.time));
      var n = messageNode(m, prev, p.failed ? ' failed' : ' pending');
      n.setAttribute('data-seq', String(p.seq));
      if (p.failed) n.setAttribute('title', t('retry'));
      el.pendingList.appendChild(n);
      prev = m;
    });
  }

  function openGroup(gid) {
    var g = S.byId[gid];
    if (!g) return false;
    saveDraft();
    S.current = gid;
    S.newBelow = 0;
    setMode('conv', true);
    renderConvHead();
    renderGroups();
    var c = conv(gid);
    resetWindow(c);
    renderConv(false);
    el.input.value = S.drafts[gid] || '';
    autosize();
    // Asked on every open: an unanswered one (1C failed) must not block the next.
    queue({ action: 'open', group: gid, after: c.list.length ? c.list[c.list.length - 1].id : 0 });
    maybeMarkRead();
    focusInput();
    return true;
  }

  function focusInput() {
    // Only on wide forms: on a phone-sized field it would pop up the keyboard.
    if (window.innerWidth > 640) {
      try { el.input.focus(); } catch (e) { /* field not focusable yet */ }
    }
  }

  function maybeMarkRead() {
    if (S.current === null || !mainVisible() || !atBottom()) return;
    var c = conv(S.current);
    if (!c.list.length) return;
    var upTo = c.list[c.list.length - 1].id;
    var g = S.byId[S.current];
    if (upTo > (S.readSent[S.current] || 0)) {
      S.readSent[S.current] = upTo;
      queue({ action: 'read', group: S.current, upTo: upTo });
    }
    if (g && g.unread) {
      g.unread = 0;
      renderGroups();
    }
  }

  function insertSorted(c, m) {
    var list = c.list;
    if (!list.length || list[list.length - 1].id < m.id) { list.push(m); return true; }
    list.splice(indexOfId(list, m.id), 0, m);
    return false;
  }

  // Merges messages; returns per-group info on what changed.
  function merge(arr) {
    var touched = {};
    arr.forEach(function (raw) {
      var m = normMsg(raw);
      if (!m) return;
      var c = conv(m.group);
      if (c.ids[m.id]) return;
      c.ids[m.id] = true;
      var info = touched[m.group];
      if (!info) {
        info = { appended: [], reordered: false, others: 0 };
        touched[m.group] = info;
      }
      if (insertSorted(c, m)) info.appended.push(m); else info.reordered = true;
      var g = S.byId[m.group];
      var own = sameUser(m.publisher, S.user);
      if (own) dropPending(m);
      if (S.pendingNew && own && m.text === S.pendingNew.text) S.pendingNew.group = m.group;
      if (g && (!g.last || m.id > g.last.id)) {
        g.last = m;
        if (!own) { g.unread++; info.others++; }
      }
    });
    return touched;
  }

  // The echo of a send: the same text, else (the store normalised it) the oldest one.
  function dropPending(m) {
    var first = -1;
    for (var i = 0; i < S.pending.length; i++) {
      var p = S.pending[i];
      if (p.group !== m.group) continue;
      if (p.text === m.text) { S.pending.splice(i, 1); return; }
      if (first < 0) first = i;
    }
    if (first >= 0) S.pending.splice(first, 1);
  }

  function addMessages(arr) {
    var wasBottom = S.mode === 'conv' && atBottom();
    var touched = merge(arr);
    var info = S.current !== null ? touched[S.current] : null;
    if (info && S.mode === 'conv') {
      var c = conv(S.current);
      if (info.reordered) {
        renderConv(!wasBottom);
      } else if (info.appended.length) {
        var frag = document.createDocumentFragment();
        c.tail = appendTo(frag, info.appended, c.tail);
        el.list.appendChild(frag);
        renderPending();
        renderStatus(c);
      }
      var ownLast = info.appended.length &&
        sameUser(info.appended[info.appended.length - 1].publisher, S.user);
      if (wasBottom || ownLast) {
        scrollToBottom();
      } else {
        S.newBelow += info.others;
        updateJump();
      }
    } else if (S.current !== null && S.mode === 'conv' && S.pending.length) {
      renderPending();
    }
    sortGroups();
    renderGroups();
    openPendingNew();
    maybeMarkRead();
  }

  function prependMessages(gid, arr, hasMore) {
    var c = conv(gid);
    var wasEmpty = c.list.length === 0;
    arr = arr.filter(function (m) { return m && m.group === gid; });
    merge(arr);
    // First page: show the newest window; asked-for older page: show everything held.
    if (wasEmpty) resetWindow(c); else if (c.olderPending) c.shownFrom = null;
    c.olderPending = false;
    if (hasMore !== undefined && hasMore !== null) c.hasMore = !!hasMore;
    else if (!arr.length) c.hasMore = false;
    if (S.current === gid && S.mode === 'conv') {
      renderConv(!wasEmpty);
    }
    sortGroups();
    renderGroups();
    maybeMarkRead();
  }

  function requestOlder() {
    var c = conv(S.current);
    if (revealOlder()) return;
    if (!c.list.length || c.olderPending || c.hasMore === false) return;
    c.olderPending = true;
    renderStatus(c);
    queue({ action: 'older', group: S.current, before: c.list[0].id });
  }

  function trimText(s) { return String(s).replace(/^\s+|\s+$/g, ''); }

  function sendCurrent() {
    var g = S.byId[S.current];
    var text = trimText(el.input.value);
    if (!g || !text) return;
    var seq = ++S.pendingSeq;
    queue({ action: 'send', seq: seq, group: g.id, topic: g.topic, participants: participantsArg(g), text: text });
    S.pending.push({ seq: seq, group: g.id, text: text, time: Date.now(), failed: false });
    el.input.value = '';
    S.drafts[g.id] = '';
    autosize();
    renderPending();
    renderStatus(conv(g.id));
    scrollToBottom();
  }

  function saveDraft() {
    if (S.current !== null) S.drafts[S.current] = el.input.value;
  }

  function autosize() {
    var i = el.input;
    i.style.height = 'auto';
    i.style.height = Math.min(i.scrollHeight + 2, 140) + 'px';
  }

  // ---- new conversation ----

  function splitNames(s) {
    return String(s).split(/[;,]/).map(trimText).filter(function (x) { return x.length > 0; });
  }

  function nameSet(names) {
    return names.map(function (n) { return n.toLowerCase(); }).sort().filter(function (n, i, a) {
      return i === 0 || a[i - 1] !== n;
    }).join('\n');
  }

  function showNewForm() {
    saveDraft();
    setMode('new', true);
    el.newHint.textContent = '';
    // The users list costs 1C a server call: asked for once, when first needed.
    if (!S.peopleAsked) {
      S.peopleAsked = true;
      queue({ action: 'people' });
    }
    renderPeople();
    try { el.newTopic.focus(); } catch (e) { /* not focusable yet */ }
  }

  // ---- people to choose from (free text stays possible) ----

  var PEOPLE_SHOWN = 8;

  function setPeople(arr) {
    var list = [];
    var seen = {};
    arr.forEach(function (p) {
      var name = p && typeof p === 'object' ? p.name : p;
      if (name === undefined || name === null) return;
      name = trimText(name);
      var key = name.toLowerCase();
      if (!name || seen[key] || sameUser(name, S.user)) return;
      seen[key] = true;
      var title = p && typeof p === 'object' && p.title ? trimText(p.title) : '';
      list.push({ name: name, title: title || name });
    });
    S.people = list;
    renderPeople();
  }

  // The name being typed: the text after the last separator.
  function currentToken() {
    var v = el.newPeople.value;
    var cut = Math.max(v.lastIndexOf(';'), v.lastIndexOf(','));
    return { head: v.slice(0, cut + 1), word: trimText(v.slice(cut + 1)) };
  }

  function renderPeople() {
    el.peopleList.textContent = '';
    if (!S.people || !S.people.length) { el.peopleList.hidden = true; return; }
    var token = currentToken();
    var chosen = {};
    splitNames(token.head).forEach(function (n) { chosen[n.toLowerCase()] = true; });
    var word = token.word.toLowerCase();
    var shown = 0;
    S.people.forEach(function (p) {
      if (shown >= PEOPLE_SHOWN || chosen[p.name.toLowerCase()]) return;
      if (word && (p.name + '\n' + p.title).toLowerCase().indexOf(word) < 0) return;
      shown++;
      var li = node('li', 'person');
      li.setAttribute('data-name', p.name);
      var av = node('span', 'avatar small');
      paintAvatar(av, p.title);
      li.appendChild(av);
      li.appendChild(node('span', 'person-title', p.title));
      if (p.title !== p.name) li.appendChild(node('span', 'person-name', p.name));
      el.peopleList.appendChild(li);
    });
    el.peopleList.hidden = shown === 0;
  }

  // A chosen name replaces the word being typed; the next one can follow at once.
  function choosePerson(name) {
    var token = currentToken();
    var head = token.head ? trimText(token.head) + ' ' : '';
    el.newPeople.value = head + name + '; ';
    renderPeople();
    try { el.newPeople.focus(); } catch (e) { /* not focusable */ }
  }

  function submitNew() {
    var topic = trimText(el.newTopic.value);
    var people = trimText(el.newPeople.value);
    var text = trimText(el.newText.value);
    if (!topic) { el.newHint.textContent = t('needTopic'); return; }
    if (!text) { el.newHint.textContent = t('needText'); return; }
    var seq = ++S.pendingSeq;
    queue({ action: 'new', seq: seq, topic: topic, participants: people, text: text });
    var names = people.charAt(0) === '[' ? [] : splitNames(people);
    S.pendingNew = {
      seq: seq, topic: topic, text: text, group: null,
      withMe: nameSet(names.length ? names.concat([S.user]) : []), without: nameSet(names)
    };
    el.newHint.textContent = t('creating');
  }

  function openPendingNew() {
    var p = S.pendingNew;
    if (!p) return;
    var found = p.group !== null && S.byId[p.group] ? S.byId[p.group] : null;
    if (!found) {
      S.groups.forEach(function (g) {
        var set = nameSet(g.participants);
        if (!found && g.topic === p.topic && (set === p.withMe || set === p.without)) found = g;
      });
    }
    if (!found) return;
    S.pendingNew = null;
    el.newTopic.value = '';
    el.newPeople.value = '';
    el.newText.value = '';
    el.newHint.textContent = '';
    openGroup(found.id);
  }

  // ---- language, user, errors ----

  function applyLang() {
    document.documentElement.setAttribute('lang', S.lang);
    document.title = t('title');
    var each = function (sel, fn) {
      var list = document.querySelectorAll(sel);
      for (var i = 0; i < list.length; i++) fn(list[i]);
    };
    each('[data-i18n]', function (n) { n.textContent = t(n.getAttribute('data-i18n')); });
    each('[data-i18n-ph]', function (n) { n.setAttribute('placeholder', t(n.getAttribute('data-i18n-ph'))); });
    each('[data-i18n-title]', function (n) { n.setAttribute('title', t(n.getAttribute('data-i18n-title'))); });
    el.meName.textContent = S.user;
    el.meName.setAttribute('title', S.user);
    paintAvatar(el.meAvatar, S.user);
  }

  // failedSeq: the seq of the send or new-conversation action whose SendMessage failed;
  // absent when some other call failed (a read after a good send must not mark it).
  function showError(text, failedSeq) {
    el.errorText.textContent = String(text === undefined || text === null ? '' : text);
    el.error.className = 'error shown';
    if (S.errorTimer) clearTimeout(S.errorTimer);
    S.errorTimer = setTimeout(hideError, 15000);
    if (!isId(failedSeq)) return;
    var changed = false;
    S.pending.forEach(function (p) {
      if (p.seq === failedSeq && !p.failed) { p.failed = true; changed = true; }
    });
    if (changed && S.mode === 'conv') renderPending();
    if (S.pendingNew && S.pendingNew.seq === failedSeq) {
      S.pendingNew = null;
      el.newHint.textContent = '';
    }
  }

  function hideError() {
    el.error.className = 'error';
    S.errorTimer = 0;
  }

  // ---- bridge ----

  // A bad call from 1C shows an error instead of throwing into 1C.
  function guard(fn) {
    return function () {
      try {
        fn.apply(null, arguments);
        return true;
      } catch (e) {
        showError(t('badInput') + ': ' + (e && e.message ? e.message : String(e)));
        return false;
      }
    };
  }

  function toId(v) {
    var n = typeof v === 'string' ? Number(v) : v;
    if (!isId(n)) throw new Error('bad group id');
    return n;
  }

  window.chatSetGroups = guard(function (json) { setGroups(asArray(json)); });
  window.chatAddMessages = guard(function (json) { addMessages(asArray(json)); });
  window.chatPrependMessages = guard(function (groupId, json, hasMore) {
    prependMessages(toId(groupId), asArray(json), hasMore);
  });
  window.chatMarkRead = guard(function (groupId, upTo) {
    var gid = toId(groupId);
    var n = toId(upTo);
    S.readSent[gid] = Math.max(S.readSent[gid] || 0, n);
    var g = S.byId[gid];
    if (g && (!g.last || n >= g.last.id)) g.unread = 0;
    renderGroups();
  });
  window.chatSetUser = guard(function (user, lang) {
    S.user = String(user === undefined || user === null ? '' : user);
    if (lang !== undefined && lang !== null) S.lang = normLang(lang);
    applyLang();
    renderGroups();
    if (S.mode === 'conv') { renderConvHead(); renderConv(true); }
  });
  window.chatShowError = guard(function (text, failedSeq) {
    showError(text, typeof failedSeq === 'string' ? Number(failedSeq) : failedSeq);
  });
  window.chatSetPeople = guard(function (json) { setPeople(asArray(json)); });
  window.chatOpenGroup = guard(function (groupId) {
    if (!openGroup(toId(groupId))) throw new Error('unknown group');
  });
  window.chatTakeActions = function () {
    var out = JSON.stringify(S.queue);
    S.queue = [];
    return out;
  };

  // ---- events ----

  el.groups.addEventListener('click', function (e) {
    var n = e.target;
    while (n && n !== el.groups && !(n.getAttribute && n.getAttribute('data-id'))) n = n.parentNode;
    if (n && n !== el.groups) openGroup(Number(n.getAttribute('data-id')));
  });
  el.filter.addEventListener('input', function () { S.filter = trimText(el.filter.value); renderGroups(); });
  el.newBtn.addEventListener('click', showNewForm);
  $('placeholder-new').addEventListener('click', showNewForm);
  $('back-btn').addEventListener('click', function () { saveDraft(); setMode(S.mode, false); });
  $('new-back-btn').addEventListener('click', function () { leaveNewForm(false); });
  $('new-cancel').addEventListener('click', function () { leaveNewForm(true); });
  function leaveNewForm(keepScreen) {
    S.pendingNew = null;
    if (S.current !== null && S.byId[S.current]) {
      setMode('conv', keepScreen);
      renderConv(false);
    } else {
      setMode('none', false);
    }
  }
  el.newForm.addEventListener('submit', function (e) { e.preventDefault(); submitNew(); });
  el.newForm.addEventListener('keydown', function (e) {
    if (e.keyCode === 27) leaveNewForm(true);
  });
  el.newPeople.addEventListener('input', renderPeople);
  el.peopleList.addEventListener('click', function (e) {
    var n = e.target;
    while (n && n !== el.peopleList && !(n.getAttribute && n.getAttribute('data-name'))) n = n.parentNode;
    if (n && n !== el.peopleList) choosePerson(n.getAttribute('data-name'));
  });
  el.olderBtn.addEventListener('click', requestOlder);
  el.jump.addEventListener('click', function () { scrollToBottom(); maybeMarkRead(); });
  el.messages.addEventListener('scroll', function () {
    if (el.messages.scrollTop < 200 && S.current !== null && conv(S.current).shownFrom !== null) revealOlder();
    if (atBottom()) {
      if (S.newBelow) { S.newBelow = 0; updateJump(); }
      maybeMarkRead();
    }
  });
  el.messages.addEventListener('click', function (e) {
    // A failed send goes back to the input for another try.
    var f = e.target;
    while (f && f !== el.messages && !(f.getAttribute && f.getAttribute('data-seq'))) f = f.parentNode;
    if (f && f !== el.messages && f.className.indexOf('failed') >= 0) {
      var seq = Number(f.getAttribute('data-seq'));
      S.pending = S.pending.filter(function (p) {
        if (p.seq !== seq) return true;
        el.input.value = p.text;
        return false;
      });
      renderPending();
      autosize();
      focusInput();
      return;
    }
    var n = e.target;
    while (n && n !== el.messages && n.tagName !== 'A') n = n.parentNode;
    if (!n || n === el.messages) return;
    e.preventDefault();
    var url = n.getAttribute('href') || '';
    if (/^https?:\/\//i.test(url)) queue({ action: 'link', url: url });
  });
  el.composer.addEventListener('submit', function (e) { e.preventDefault(); sendCurrent(); focusInput(); });
  el.input.addEventListener('keydown', function (e) {
    var enter = e.key === 'Enter' || e.keyCode === 13;
    // keyCode 229: an IME is composing, Enter belongs to it.
    if (enter && !e.shiftKey && !e.altKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      sendCurrent();
    }
  });
  el.input.addEventListener('input', autosize);
  $('error-close').addEventListener('click', hideError);
  window.addEventListener('resize', function () { maybeMarkRead(); });

  // ---- first paint from the injected state ----

  var init = window.CHAT1C_STATE || {};
  S.user = String(init.user === undefined || init.user === null ? '' : init.user);
  S.lang = normLang(init.lang);
  applyLang();
  setGroups(Array.isArray(init.groups) ? init.groups : []);
  setMode('none', false);
}());
