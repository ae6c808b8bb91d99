// Browser tests of the chat page in real engines (Chromium, WebKitGTK).
// The harness plays the 1C form: it loads the HTML the library produced (lib/html.js),
// calls the page's window.chat* bridge as the form would, types and clicks like a user,
// takes the queued actions with chatTakeActions() and checks what is shown.
// Ends with 'N passed, N failed'. Env: CHAT1C_ENGINES=chromium,webkit (default both);
// CHAT1C_WEBKIT=skip to skip WebKitGTK where it cannot run.
'use strict';
const fs = require('fs');
const path = require('path');
const { getHtml, REPO } = require('./lib/html');
const engines = require('./lib/engines');
const D = require('./lib/data');

const ARTIFACTS = path.join(__dirname, 'artifacts');
fs.mkdirSync(ARTIFACTS, { recursive: true });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let passed = 0;
let failed = 0;
let skipped = 0;
const timings = [];
let engineName = '';

function check(name, ok, detail) {
  if (ok) {
    passed++;
    console.log('ok   ' + engineName + ': ' + name);
  } else {
    failed++;
    console.log('FAIL ' + engineName + ': ' + name + (detail !== undefined ? ' -- ' + JSON.stringify(detail) : ''));
  }
}

// Key order differs between engines' WebDriver answers: compare canonical forms.
function canon(v) {
  if (Array.isArray(v)) return v.map(canon);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = canon(v[k]);
    return o;
  }
  return v;
}

function eq(name, got, want) {
  check(name, JSON.stringify(canon(got)) === JSON.stringify(canon(want)), { got: got, want: want });
}

// ---- page helpers (functions run inside the page: self-contained) ----

async function take(page) {
  await sleep(30); // the page notifies 1C on a zero-delay timer
  return JSON.parse(await page.eval(function () { return window.chatTakeActions(); }));
}

function ofType(actions, type) {
  return actions.filter((a) => a.action === type);
}

// Requests whose answer names them ("open" with after = 0, "older", "around", "newer"):
// the seq, a number, shown as 'N' so that the rest can be compared.
function asked(actions, type) {
  return ofType(actions, type).map((a) => Object.assign({}, a, typeof a.seq === 'number' ? { seq: 'N' } : {}));
}

function bridge(page, name) {
  const args = [].slice.call(arguments, 2);
  return page.eval(function (n, a) { return window[n].apply(window, a); }, name, args);
}

function text(page, sel) {
  return page.eval(function (s) { const n = document.querySelector(s); return n ? n.textContent : null; }, sel);
}

function inertProbe(page) {
  return page.eval(function () {
    return {
      pwned: typeof window.pwned,
      media: document.querySelectorAll('img, iframe, object, embed, svg').length,
      scripts: document.querySelectorAll('script').length,
      alerts: window.__probe ? window.__probe.alerts : 0
    };
  });
}

function listState(page) {
  return page.eval(function () {
    const m = document.getElementById('messages');
    const msgs = document.querySelectorAll('#msg-list .msg');
    return {
      count: msgs.length,
      days: document.querySelectorAll('#msg-list .day').length,
      firstId: msgs.length ? Number(msgs[0].getAttribute('data-id')) : null,
      lastId: msgs.length ? Number(msgs[msgs.length - 1].getAttribute('data-id')) : null,
      scrollTop: m.scrollTop,
      atBottom: m.scrollHeight - m.scrollTop - m.clientHeight < 4,
      jump: document.getElementById('jump-btn').className.indexOf('shown') >= 0 ?
        document.getElementById('jump-count').textContent : null,
      olderHidden: document.getElementById('older-btn').hidden
    };
  });
}

function pendingStates(page) {
  return page.eval(function () {
    return [].map.call(document.querySelectorAll('#pending-list .msg'), function (p) {
      return [p.querySelector('.text').textContent, p.querySelector('.time').textContent];
    });
  });
}

function banner(page) {
  return page.eval(function () {
    return {
      shown: document.getElementById('error').className.indexOf('shown') >= 0,
      text: document.getElementById('error-text').textContent
    };
  });
}

async function noProblems(page, phase) {
  const p = await page.problems();
  eq(phase + ': no console errors, script errors, dialogs or network requests', p, []);
}

// ---- phases ----

// The state injected by FillChat carries hostile user, topic, names and text.
async function phaseRenderXss(page) {
  const user = D.XSS_SCRIPT + D.XSS_IMG;
  const topic = 'Topic ' + D.XSS_SCRIPT;
  const last = D.msg(1, 1, Date.now(), user, D.XSS_IMG + ' and ' + D.XSS_SCRIPT);
  const src = getHtml({
    user: user, lang: 'en',
    seeds: [{ user: user, topic: topic, participants: 'Bob;' + D.XSS_IMG, text: last.text }],
    groups: [D.group(1, topic, [user, 'Bob', D.XSS_IMG], 0, last)]
  });
  console.log('html source: ' + src.source);
  await page.load(src.html, { width: 1000, height: 640 });
  const probe = await inertProbe(page);
  eq('render XSS: nothing injected ran or was created', probe,
    { pwned: 'undefined', media: 0, scripts: engineName === 'webkitgtk' ? 3 : 2, alerts: 0 });
  eq('render XSS: user name shown literally', await text(page, '#me-name'), user);
  eq('render XSS: topic shown literally', await text(page, '.group .group-topic'), topic);
  const people = await text(page, '.group .group-people');
  check('render XSS: participant name shown literally', people !== null && people.indexOf(D.XSS_IMG) >= 0, people);
  const preview = await text(page, '.group .group-preview');
  check('render XSS: last message preview literal', preview !== null && preview.indexOf(D.XSS_IMG + ' and ' + D.XSS_SCRIPT) >= 0, preview);
  eq('no actions queued at first paint', await take(page), []);
  await noProblems(page, 'render XSS');
}

async function phaseRussian(page) {
  const src = getHtml({ user: 'Иван Петров', lang: 'ru', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  const s = await page.eval(function () {
    return {
      lang: document.documentElement.lang, title: document.title,
      ph: document.getElementById('input').getAttribute('placeholder'),
      empty: document.getElementById('groups-empty').textContent,
      user: document.getElementById('me-name').textContent
    };
  });
  eq('Russian page from lang "ru"', s, {
    lang: 'ru', title: 'Чат', ph: 'Напишите сообщение…', empty: 'Разговоров пока нет', user: 'Иван Петров'
  });
  await noProblems(page, 'russian');
}

async function phaseScenario(page) {
  const now = Date.now();
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  await page.eval(function () {
    window.__notified = 0;
    document.getElementById('chat1c-notify').addEventListener('click', function () { window.__notified++; });
  });
  eq('English page from lang "en"', await page.eval(function () {
    return [document.documentElement.lang, document.getElementById('input').getAttribute('placeholder')];
  }), ['en', 'Write a message…']);

  // Groups, given out of order: the page shows newest activity first.
  const big = D.series(1, 10001, 1000, now - 2 * D.HOUR, 7 * D.MIN, [D.ME, D.BORIS, D.CLARA]);
  const groups = [
    D.group(4, 'Tender ' + D.XSS_IMG, [D.ME, D.XSS_IMG], 1, D.msg(8000, 4, now - 50 * D.HOUR, D.XSS_IMG, D.XSS_SCRIPT)),
    D.group(2, 'Shipping delays', [D.ME, D.BORIS], 0, D.msg(9000, 2, now - 30 * D.HOUR, D.ME, 'See you tomorrow')),
    D.group(1, 'Quarterly report', [D.ME, D.BORIS, D.CLARA], 3, big[big.length - 1]),
    D.group(3, '', [], 0, D.msg(9500, 3, now - 26 * D.HOUR, D.CLARA, 'Lunch?'))
  ];
  eq('chatSetGroups returns true', await bridge(page, 'chatSetGroups', JSON.stringify(groups)), true);
  const order = await page.eval(function () {
    return [].map.call(document.querySelectorAll('#groups .group'), function (n) {
      return [Number(n.getAttribute('data-id')), n.querySelector('.group-topic').textContent,
        n.querySelector('.badge') ? n.querySelector('.badge').textContent : ''];
    });
  });
  eq('groups newest first, with topic (public: Everyone) and unread badge', order, [
    [1, 'Quarterly report', '3'], [3, 'Everyone', ''], [2, 'Shipping delays', ''], [4, 'Tender ' + D.XSS_IMG, '1']]);
  const preview = await text(page, '.group[data-id="2"] .group-preview');
  eq('own last message previewed as You:', preview, 'You: See you tomorrow');

  // Open a group: the page asks 1C for its newest page.
  await page.click('.group[data-id="1"]');
  let acts = await take(page);
  eq('opening a group queues "open" with after = 0', asked(acts, 'open'), [{ action: 'open', group: 1, after: 0, seq: 'N' }]);
  check('the hidden chat1c-notify element was clicked for 1C', (await page.eval(function () { return window.__notified; })) >= 1);
  eq('conversation header', [await text(page, '#conv-topic'), await text(page, '#conv-people')],
    ['Quarterly report', D.ME + ', ' + D.BORIS + ', ' + D.CLARA]);
  eq('status while loading', await text(page, '#conv-status'), 'Loading…');

  // 1,000 messages (the answer to "open"): time to render.
  const r1 = await page.eval(function (json) {
    const t0 = performance.now();
    const ok = window.chatPrependMessages(1, json, true);
    void document.getElementById('messages').scrollHeight; // include layout
    return { ok: ok, ms: performance.now() - t0 };
  }, JSON.stringify(big));
  timings.push(engineName + ': render 1,000 messages (the newest ' + 150 + ' go to the DOM): ' + r1.ms.toFixed(1) + ' ms');
  let st = await listState(page);
  check('1,000 messages taken, the newest shown, scrolled to the bottom', r1.ok && st.count === 150 && st.atBottom &&
    st.firstId === 10851 && st.lastId === 11000 && !st.olderHidden, st);
  acts = await take(page);
  eq('reading the newest queues "read" up to it', ofType(acts, 'read'), [{ action: 'read', group: 1, upTo: 11000 }]);
  eq('badge cleared once read', await text(page, '.group[data-id="1"] .badge'), null);
  const shape = await page.eval(function () {
    const own = document.querySelector('#msg-list .msg.own');
    const other = document.querySelector('#msg-list .msg:not(.own):not(.cont)');
    return {
      ownAuthor: own ? (own.querySelector('.author') ? getComputedStyle(own.querySelector('.author')).display : 'none') : 'missing',
      ownRight: own ? getComputedStyle(own).justifyContent : '',
      otherAuthor: other ? other.querySelector('.author').textContent.length > 0 : false,
      time: /^\d\d:\d\d$/.test(document.querySelector('#msg-list .msg .time').textContent),
      days: [].map.call(document.querySelectorAll('#msg-list .day'), function (d) { return d.textContent; })
    };
  });
  // The newest shown message is 2 hours old: its separator reads Today, or Yesterday
  // when the test runs in the first two hours of the day (the browser's local date).
  const newest = new Date(big[big.length - 1].period);
  const midnight = new Date(now);
  midnight.setHours(0, 0, 0, 0);
  const newestLabel = newest.getTime() >= midnight.getTime() ? 'Today' : 'Yesterday';
  shape.newestDay = shape.days[shape.days.length - 1];
  delete shape.days;
  eq('own messages distinct (right, no author); others show author; time HH:MM; day separator', shape,
    { ownAuthor: 'none', ownRight: 'flex-end', otherAuthor: true, time: true, newestDay: newestLabel });

  // 100 new messages while reading the newest: appended and followed.
  const hundred = D.series(1, 11001, 100, now - 20 * D.MIN, 20 * 1000, [D.BORIS, D.CLARA]);
  const r2 = await page.eval(function (json) {
    const t0 = performance.now();
    const ok = window.chatAddMessages(json);
    void document.getElementById('messages').scrollHeight;
    return { ok: ok, ms: performance.now() - t0 };
  }, JSON.stringify(hundred));
  timings.push(engineName + ': append 100 messages: ' + r2.ms.toFixed(1) + ' ms');
  st = await listState(page);
  check('100 appended, still at the newest (auto-scroll)', r2.ok && st.count === 250 && st.lastId === 11100 && st.atBottom, st);
  acts = await take(page);
  eq('read follows the newest', ofType(acts, 'read'), [{ action: 'read', group: 1, upTo: 11100 }]);

  // Duplicates and out-of-order input are merged by id.
  await bridge(page, 'chatAddMessages', JSON.stringify(hundred.slice(0, 10).concat(big.slice(-5))));
  st = await listState(page);
  check('duplicates ignored (dedupe by id)', st.count === 250 && st.lastId === 11100, st);

  // Reading history: a new message must not yank the view; a jump button counts it.
  await page.eval(function () { document.getElementById('messages').scrollTop = 400; });
  await sleep(50);
  await take(page);
  const readingAt = (await listState(page)).scrollTop;
  const latest = D.msg(11101, 1, now - 10 * D.MIN, D.BORIS, 'Are you there?');
  await bridge(page, 'chatAddMessages', JSON.stringify([latest]));
  st = await listState(page);
  check('new message while reading history: view stays, jump shows 1', st.scrollTop === readingAt && !st.atBottom && st.jump === '1' && st.lastId === 11101, st);
  eq('unread badge while reading history', await text(page, '.group[data-id="1"] .badge'), '1');
  eq('no read while reading history', ofType(await take(page), 'read'), []);
  await page.click('#jump-btn');
  st = await listState(page);
  check('jump button goes to the newest', st.atBottom && st.jump === null, st);
  eq('and marks it read', ofType(await take(page), 'read'), [{ action: 'read', group: 1, upTo: 11101 }]);

  // Scrolling up reveals the held history in chunks without asking 1C, view anchored.
  const chunkAnchor = await page.eval(function () {
    const n = document.querySelector('#msg-list .msg');
    const r = { id: n.getAttribute('data-id'), top: 0 };
    const m = document.getElementById('messages');
    m.scrollTop = 0;
    m.dispatchEvent(new Event('scroll')); // what the engine sends on the user's scroll
    return r;
  });
  await sleep(100);
  st = await listState(page);
  const chunkTop = await page.eval(function (id) {
    return document.querySelector('#msg-list .msg[data-id="' + id + '"]').getBoundingClientRect().top;
  }, chunkAnchor.id);
  check('scrolling to the top reveals an older chunk, the view stays on what was read',
    st.count > 252 && st.firstId < 10851 && chunkTop > 100, { st: st, top: chunkTop });
  for (let i = 0; i < 12 && st.firstId !== 10001; i++) {
    await page.eval(function () {
      const m = document.getElementById('messages');
      m.scrollTop = 0;
      m.dispatchEvent(new Event('scroll'));
    });
    await sleep(60);
    st = await listState(page);
  }
  check('the whole held history reachable by scrolling', st.firstId === 10001 && st.count === 1101, st);
  eq('revealing held history asks 1C for nothing', ofType(await take(page), 'older'), []);
  const allDays = new Set(big.concat(hundred, [latest]).map((m) => new Date(Date.parse(m.period)).toDateString())).size;
  eq('one day separator per day', st.days, allDays);
  const r3 = await page.eval(function () {
    // Worst case: every held message in the DOM, laid out afresh (a clone swapped in).
    const l = document.getElementById('msg-list');
    const all = l.cloneNode(true);
    const t0 = performance.now();
    l.parentNode.replaceChild(all, l);
    void document.getElementById('messages').scrollHeight;
    const t1 = performance.now();
    all.parentNode.replaceChild(l, all);
    window.chatOpenGroup(1);
    const t2 = performance.now();
    return { layoutAll: t1 - t0, reopen: t2 - t1 };
  });
  timings.push(engineName + ': lay out all 1,101 messages at once: ' + r3.layoutAll.toFixed(1) +
    ' ms; reopen the group (newest 150 shown): ' + r3.reopen.toFixed(1) + ' ms');
  await take(page);
  st = await listState(page);
  check('reopening shows the newest window again', st.count === 150 && st.lastId === 11101 && st.atBottom, st);
  for (let i = 0; i < 12 && st.firstId !== 10001; i++) {
    await page.eval(function () {
      const m = document.getElementById('messages');
      m.scrollTop = 0;
      m.dispatchEvent(new Event('scroll'));
    });
    await sleep(60);
    st = await listState(page);
  }

  // Load older: with all held messages shown, the top button asks 1C for the page before.
  await page.eval(function () { document.getElementById('messages').scrollTop = 0; });
  await sleep(50);
  const anchorBefore = await page.eval(function () {
    const n = document.querySelector('#msg-list .msg');
    return { id: n.getAttribute('data-id'), top: n.getBoundingClientRect().top };
  });
  await page.click('#older-btn');
  acts = await take(page);
  eq('"load older" queues "older" before the oldest id', asked(acts, 'older'), [{ action: 'older', group: 1, before: 10001, seq: 'N' }]);
  eq('older button shows loading', await page.eval(function () {
    const b = document.getElementById('older-btn'); return [b.disabled, b.textContent];
  }), [true, 'Loading…']);
  const older = D.series(1, 9951, 50, Date.parse(big[0].period) - 7 * D.MIN, 7 * D.MIN, [D.BORIS, D.CLARA]);
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(older), false);
  st = await listState(page);
  const anchorAfter = await page.eval(function (id) {
    return document.querySelector('#msg-list .msg[data-id="' + id + '"]').getBoundingClientRect().top;
  }, anchorBefore.id);
  check('older page prepended, ascending, "load older" gone (hasMore false)',
    st.count === 1151 && st.firstId === 9951 && st.lastId === 11101 && st.olderHidden, st);
  check('reading position kept across the prepend', Math.abs(anchorAfter - anchorBefore.top) <= 2,
    { before: anchorBefore.top, after: anchorAfter });
  await page.eval(function () { const m = document.getElementById('messages'); m.scrollTop = m.scrollHeight; });
  await sleep(50);
  await take(page);

  // Typing: Shift+Enter is a new line, Enter sends; an empty input sends nothing.
  await page.click('#input');
  await page.type('#input', 'Hello');
  await page.press('#input', 'Shift+Enter');
  await page.type('#input', 'second line');
  await page.press('#input', 'Enter');
  acts = await take(page);
  eq('Enter sends (with the seq that names it in a failure); Shift+Enter kept a newline', asked(acts, 'send'), [{
    action: 'send', seq: 'N', group: 1, topic: 'Quarterly report',
    participants: JSON.stringify([D.ME, D.BORIS, D.CLARA]), text: 'Hello\nsecond line', replyTo: 0
  }]);
  eq('input cleared after sending', await page.eval(function () { return document.getElementById('input').value; }), '');
  const pend = await page.eval(function () {
    const p = document.querySelectorAll('#pending-list .msg.pending');
    return p.length ? [p.length, p[0].querySelector('.text').textContent, p[0].querySelector('.time').textContent] : [0];
  });
  eq('sent text shown as pending until 1C echoes it', pend, [1, 'Hello\nsecond line', 'sending…']);
  await page.press('#input', 'Enter');
  await page.type('#input', '   ');
  await page.press('#input', 'Enter');
  eq('empty or blank input sends nothing', ofType(await take(page), 'send'), []);
  await page.eval(function () { document.getElementById('input').value = ''; });
  await bridge(page, 'chatAddMessages', JSON.stringify([D.msg(11102, 1, Date.now(), D.ME, 'Hello\nsecond line')]));
  const echoed = await page.eval(function () {
    const all = document.querySelectorAll('#msg-list .msg');
    const last = all[all.length - 1];
    return [document.querySelectorAll('#pending-list .msg').length, last.className.indexOf('own') >= 0,
      last.querySelector('.text').textContent];
  });
  eq('echo replaces the pending bubble with an own message', echoed, [0, true, 'Hello\nsecond line']);

  // XSS payloads in message texts and names are shown, never run.
  await bridge(page, 'chatAddMessages', JSON.stringify([
    D.msg(11103, 1, Date.now(), D.XSS_IMG, D.XSS_IMG),
    D.msg(11104, 1, Date.now(), D.BORIS, D.XSS_SCRIPT)
  ]));
  const xss = await page.eval(function () {
    const all = document.querySelectorAll('#msg-list .msg');
    const a = all[all.length - 2];
    const b = all[all.length - 1];
    return [a.querySelector('.author').textContent, a.querySelector('.text').textContent, b.querySelector('.text').textContent];
  });
  eq('XSS in texts and names shown literally', xss, [D.XSS_IMG, D.XSS_IMG, D.XSS_SCRIPT]);
  const probe = await inertProbe(page);
  eq('XSS in messages inert', [probe.pwned, probe.media, probe.alerts], ['undefined', 0, 0]);

  // Links: only http(s) become links; a click is handed to 1C, the field never navigates.
  await bridge(page, 'chatAddMessages', JSON.stringify([D.msg(11105, 1, Date.now(), D.BORIS,
    'Spec: https://example.com/spec?id=1. Not links: javascript:alert(1) ftp://host/x www.example.org')]));
  const links = await page.eval(function () {
    const all = document.querySelectorAll('#msg-list .msg');
    return [].map.call(all[all.length - 1].querySelectorAll('a'), function (a) { return [a.getAttribute('href'), a.textContent]; });
  });
  eq('only the http(s) URL is a link, trailing dot excluded', links, [['https://example.com/spec?id=1', 'https://example.com/spec?id=1']]);
  const hrefBefore = await page.eval(function () { return location.href; });
  await page.click('#msg-list .msg:last-child a');
  await sleep(100);
  eq('link click queued for 1C', ofType(await take(page), 'link'), [{ action: 'link', url: 'https://example.com/spec?id=1' }]);
  eq('the field did not navigate', await page.eval(function () { return location.href; }), hrefBefore);

  // Errors from 1C and bad bridge input.
  await bridge(page, 'chatShowError', 'Store is locked: <b>busy</b>');
  eq('chatShowError shows the text literally', await page.eval(function () {
    const e = document.getElementById('error');
    return [e.className.indexOf('shown') >= 0, document.getElementById('error-text').textContent, e.querySelectorAll('b').length];
  }), [true, 'Store is locked: <b>busy</b>', 0]);
  await page.click('#error-close');
  // Only the send whose SendMessage failed is marked; a read that failed after a good send
  // marks nothing (the user would send again and duplicate it). A click puts it back.
  await page.type('#input', 'This one is sent');
  await page.press('#input', 'Enter');
  await page.type('#input', 'This one fails');
  await page.press('#input', 'Enter');
  const sends = ofType(await take(page), 'send');
  eq('two sends queued, each with its own seq', [sends.map((a) => a.text), sends.every((a) => typeof a.seq === 'number'),
    sends.length === 2 && sends[0].seq !== sends[1].seq], [['This one is sent', 'This one fails'], true, true]);
  await bridge(page, 'chatShowError', 'The store did not answer; new messages come with the next event');
  eq('a failed read after the sends marks none of them "not sent"', await pendingStates(page),
    [['This one is sent', 'sending…'], ['This one fails', 'sending…']]);
  eq('chatShowError(text, seq) returns true', await bridge(page, 'chatShowError', 'Store is read-only', sends[1].seq), true);
  eq('only the send that failed is marked "not sent"', await pendingStates(page),
    [['This one is sent', 'sending…'], ['This one fails', 'not sent']]);
  await bridge(page, 'chatAddMessages', JSON.stringify([D.msg(11106, 1, Date.now(), D.ME, 'This one is sent')]));
  eq('the good send is echoed by the next pull; the failed one stays', await pendingStates(page),
    [['This one fails', 'not sent']]);
  await page.click('#pending-list .msg.failed .bubble');
  eq('clicking it returns the text to the input', await page.eval(function () {
    return [document.getElementById('input').value, document.querySelectorAll('#pending-list .msg').length];
  }), ['This one fails', 0]);
  await page.eval(function () { document.getElementById('input').value = ''; });
  await page.click('#error-close');
  eq('bad JSON from 1C: returns false, no throw', await bridge(page, 'chatAddMessages', '{not json'), false);
  eq('and is reported in the banner', await page.eval(function () {
    return document.getElementById('error').className.indexOf('shown') >= 0;
  }), true);
  eq('unknown group for chatOpenGroup returns false', await bridge(page, 'chatOpenGroup', 777), false);
  await page.click('#error-close');

  // Several actions queued before 1C reads: none lost, order kept; taking clears.
  await page.click('.group[data-id="2"]');
  await page.click('.group[data-id="3"]');
  acts = await take(page);
  eq('rapid actions all kept, in order', asked(acts, 'open'), [
    { action: 'open', group: 2, after: 0, seq: 'N' }, { action: 'open', group: 3, after: 0, seq: 'N' }]);
  eq('chatTakeActions clears the queue', await take(page), []);
  eq('public group header', await text(page, '#conv-people'), 'Everyone');

  // 1C opens a group itself; the conversation comes back from memory.
  eq('chatOpenGroup(1) returns true', await bridge(page, 'chatOpenGroup', 1), true);
  acts = await take(page);
  eq('reopening asks only for messages after the newest held', ofType(acts, 'open'), [{ action: 'open', group: 1, after: 11106 }]);
  st = await listState(page);
  check('conversation restored at the newest (newest window only)', st.count === 150 && st.lastId === 11106 && st.atBottom, st);

  // New conversation: the form validates, queues "new", then opens the group when 1C lists it.
  await page.click('#new-btn');
  check('new conversation form shown', (await page.eval(function () { return document.getElementById('chat1c-root').className; })).indexOf('mode-new') >= 0);
  await page.click('#new-submit');
  eq('topic required', await text(page, '#new-hint'), 'Enter a topic.');
  await page.type('#new-topic', 'Budget 2027');
  await page.type('#new-people', D.BORIS + '; ' + D.CLARA);
  await page.type('#new-text', 'Kick-off on Monday');
  await page.click('#new-submit');
  acts = await take(page);
  const created = ofType(acts, 'new');
  eq('"new" queued with topic, participants and text', created.map((a) => [a.action, a.topic, a.participants, a.text, typeof a.seq]),
    [['new', 'Budget 2027', D.BORIS + '; ' + D.CLARA, 'Kick-off on Monday', 'number']]);
  eq('and asked 1C for the users to choose from', ofType(acts, 'people'), [{ action: 'people' }]);
  const first = D.msg(11107, 9, Date.now(), D.ME, 'Kick-off on Monday');
  await bridge(page, 'chatSetGroups', JSON.stringify(groups.concat([D.group(9, 'Budget 2027', [D.BORIS, D.CLARA, D.ME], 0, first)])));
  eq('the new group opens by itself', await text(page, '#conv-topic'), 'Budget 2027');
  eq('and is asked for', asked(await take(page), 'open'), [{ action: 'open', group: 9, after: 0, seq: 'N' }]);
  await bridge(page, 'chatPrependMessages', 9, JSON.stringify([first]), false);
  st = await listState(page);
  check('its first message shown, nothing older to load', st.count === 1 && st.olderHidden, st);
  eq('new group listed first', await text(page, '#groups .group .group-topic'), 'Budget 2027');

  // Language switch at run time.
  await bridge(page, 'chatSetUser', D.ME, 'ru');
  eq('chatSetUser(.., "ru") switches strings', await page.eval(function () {
    return [document.getElementById('input').getAttribute('placeholder'), document.querySelector('#msg-list .day').textContent,
      document.getElementById('new-btn').getAttribute('title')];
  }), ['Напишите сообщение…', 'Сегодня', 'Новый разговор']);
  await bridge(page, 'chatSetUser', D.ME, 'en');
  await take(page);

  // Narrow form: one screen at a time with a back button, nothing wider than the field
  // (a long unbroken word included).
  await bridge(page, 'chatAddMessages', JSON.stringify([D.msg(11108, 9, Date.now(), D.BORIS, 'x'.repeat(300) + ' ' + 'https://example.com/' + 'y'.repeat(200))]));
  const size = await page.setSize(360, 640);
  console.log('note: ' + engineName + ' narrow viewport ' + size.width + 'x' + size.height);
  const narrow = () => page.eval(function () {
    const vis = function (id) { const n = document.querySelector(id); return n.offsetWidth > 0 && n.offsetHeight > 0; };
    const input = document.getElementById('input').getBoundingClientRect();
    return {
      side: vis('.side'), main: vis('.main'), back: vis('#back-btn'),
      overflow: document.documentElement.scrollWidth > innerWidth ||
        [].some.call(document.querySelectorAll('.bubble'), function (b) { return b.getBoundingClientRect().right > innerWidth + 0.5; }),
      inputFits: input.right <= innerWidth + 0.5
    };
  });
  check('narrow (<=640px) layout applies', size.width <= 640, size);
  eq('narrow: the open conversation fills the field, with a back button', await narrow(),
    { side: false, main: true, back: true, overflow: false, inputFits: true });
  await page.screenshot(path.join(ARTIFACTS, 'narrow-conversation-' + engineName + '.png'));
  await page.click('#back-btn');
  const n2 = await narrow();
  eq('narrow: back shows the groups screen', [n2.side, n2.main, n2.overflow], [true, false, false]);
  await page.screenshot(path.join(ARTIFACTS, 'narrow-groups-' + engineName + '.png'));
  await page.click('.group[data-id="1"]');
  const n3 = await narrow();
  eq('narrow: choosing a group shows it again', [n3.side, n3.main, n3.overflow, n3.inputFits], [false, true, false, true]);
  await page.setSize(1000, 640);
  await noProblems(page, 'scenario');
}

// A script failure shows a banner instead of a blank or half-working field: first an engine
// that cannot parse the chat script at all (an old IE or WebKitGTK meeting newer syntax),
// then an error thrown later by a handler.
async function phaseOnError(page) {
  const ru = getHtml({ user: D.ME, lang: 'ru', seeds: [], groups: [] });
  const head = "(function () {\n  'use strict';";
  const broken = ru.html.replace(head, head + '\n  var = ;');
  check('the chat script can be broken for this test', broken !== ru.html);
  await page.load(broken, { width: 1000, height: 640 });
  const b1 = await banner(page);
  check('a chat script the engine cannot parse shows the banner, in Russian',
    b1.shown && b1.text.indexOf('Ошибка в сценарии страницы чата: ') === 0, b1);
  const p1 = await page.problems();
  check('and the engine reported exactly that one error', p1.length === 1, p1);

  const en = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(en.html, { width: 1000, height: 640 });
  eq('a working page shows no banner', (await banner(page)).shown, false);
  await page.eval(function () { setTimeout(function () { window.__missing.call(); }, 0); });
  await sleep(100);
  const b2 = await banner(page);
  check('an error thrown later by a handler shows the banner too, in English',
    b2.shown && b2.text.indexOf('The chat page script failed: ') === 0 && b2.text.length > 30, b2);
  eq('the page keeps working after it', await bridge(page, 'chatSetGroups', '[]'), true);
}

// "New conversation" offers the infobase's users (chatSetPeople); typing stays possible.
async function phasePeople(page) {
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  const listShown = () => page.eval(function () {
    const l = document.getElementById('new-people-list');
    return l.hidden ? null : [].map.call(l.querySelectorAll('.person'), function (n) { return n.getAttribute('data-name'); });
  });
  await page.click('#placeholder-new');
  eq('"new conversation" asks 1C for the users once', ofType(await take(page), 'people'), [{ action: 'people' }]);
  eq('no list until 1C answers', await listShown(), null);
  const people = [
    { name: 'boris', title: D.BORIS }, { name: 'clara', title: D.CLARA }, { name: 'anna', title: D.ME },
    { name: D.ME, title: D.ME }, { name: 'xss', title: D.XSS_IMG }, { name: 'Boris', title: 'duplicate, other case' }
  ];
  eq('chatSetPeople returns true', await bridge(page, 'chatSetPeople', JSON.stringify(people)), true);
  eq('users listed once each, the current user left out', await listShown(), ['boris', 'clara', 'anna', 'xss']);
  eq('titles shown literally (XSS inert)', await page.eval(function () {
    const n = document.querySelector('.person[data-name="xss"] .person-title');
    return [n.textContent, document.querySelectorAll('#new-people-list img').length];
  }), [D.XSS_IMG, 0]);
  await page.type('#new-people', 'smir');
  eq('typing filters by title or name', await listShown(), ['clara']);
  await page.click('.person[data-name="clara"]');
  eq('choosing puts the user name in the field, ready for the next', await page.eval(function () {
    return document.getElementById('new-people').value;
  }), 'clara; ');
  eq('a chosen user leaves the list', await listShown(), ['boris', 'anna', 'xss']);
  await page.type('#new-people', 'Someone Outside');
  eq('free text that matches nobody hides the list', await listShown(), null);
  await page.type('#new-topic', 'Budget');
  await page.type('#new-text', 'Hello');
  await page.click('#new-submit');
  eq('free text and chosen names go out together', ofType(await take(page), 'new').map((a) => a.participants),
    ['clara; Someone Outside']);
  await page.click('#new-cancel');
  await page.click('#new-btn');
  eq('the users are not asked for again', ofType(await take(page), 'people'), []);
  eq('bad users JSON: false, no throw', await bridge(page, 'chatSetPeople', '{bad'), false);
  await noProblems(page, 'people');
}

// Live messages (issue 12): the message menu, edit (Esc cancels, a failed edit), delete and
// its tombstone, a higher revision replacing the held message, reply with its quote and a
// click that scrolls to the original (asking for older pages until it is held), @mention
// suggestions, mentions highlighted and counted, read ticks in private groups.
function row(page, id) {
  return page.eval(function (n) {
    const r = document.querySelector('#msg-list .msg[data-id="' + n + '"]');
    if (!r) return null;
    const q = r.querySelector('.quote');
    const tk = r.querySelector('.ticks');
    const seen = r.querySelector('.seen-line');
    return {
      cls: r.className.split(' ').filter(function (c) { return c !== 'msg' && c !== 'cont'; }).sort().join(' '),
      text: r.querySelector('.text').textContent,
      time: r.querySelector('.time').firstChild.nodeValue,
      quote: q ? [].map.call(q.children, function (c) { return c.textContent; }) : null,
      ticks: tk ? [tk.textContent, tk.getAttribute('title')] : null,
      seen: seen ? seen.textContent : null,
      mentions: [].map.call(r.querySelectorAll('.mention'), function (m) { return m.className + ':' + m.textContent; }),
      act: r.querySelectorAll('.msg-act').length
    };
  }, id);
}

function menuItems(page) {
  return page.eval(function () {
    const m = document.getElementById('msg-menu');
    if (m.hidden) return null;
    return [].filter.call(m.querySelectorAll('.menu-item'), function (b) { return !b.hidden; })
      .map(function (b) { return b.getAttribute('data-act') + ':' + b.textContent; });
  });
}

function composer(page) {
  return page.eval(function () {
    const ctx = document.getElementById('compose-ctx');
    return {
      cls: document.getElementById('composer').className,
      ctx: ctx.hidden ? null : [document.getElementById('ctx-title').textContent, document.getElementById('ctx-text').textContent],
      input: document.getElementById('input').value
    };
  });
}

function suggestions(page) {
  return page.eval(function () {
    const l = document.getElementById('mention-list');
    if (l.hidden) return null;
    return [].map.call(l.querySelectorAll('.person'), function (p) {
      return (p.className.indexOf('active') >= 0 ? '*' : '') + p.getAttribute('data-name');
    });
  });
}

// Is the message's row inside the visible part of the message list?
function inView(page, id) {
  return page.eval(function (n) {
    const r = document.querySelector('#msg-list .msg[data-id="' + n + '"]');
    if (!r) return false;
    const box = document.getElementById('messages').getBoundingClientRect();
    const b = r.getBoundingClientRect();
    return b.top >= box.top - 1 && b.bottom <= box.bottom + 1;
  }, id);
}

// Sets a field's text as typing would end (the message input unless another id is given).
async function setInput(page, value, id) {
  await page.eval(function (v, n) {
    const i = document.getElementById(n);
    i.value = v;
    i.dispatchEvent(new Event('input'));
  }, value, id || 'input');
}

async function phaseLive(page) {
  const now = Date.now();
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  const at = (id) => now - (300 - id) * D.MIN;
  const msgs = {};
  const put = (m) => { msgs[m.id] = m; return m; };
  for (let id = 110; id <= 259; id++) put(D.live(id, 1, at(id), [D.BORIS, D.CLARA][id % 2], 'filler ' + id));
  put(D.live(205, 1, at(205), D.BORIS, 'The original question'));
  put(D.live(250, 1, at(250), D.ME, 'Draft is ready'));
  put(D.live(251, 1, at(251), D.BORIS, 'Looks good'));
  put(D.live(252, 1, at(252), D.ME, 'Second own message'));
  put(D.live(253, 1, at(253), D.CLARA, 'please check, @anna petrova.', { mentions: [D.ME] }));
  put(D.live(254, 1, at(254), D.BORIS, 'Agreed', { reply_to: 250 }));
  put(D.live(255, 1, at(255), D.CLARA, 'Answering the old one', { reply_to: 205 }));
  put(D.live(256, 1, at(256), D.CLARA, '@Boris Ivanov and @Bob, see https://example.com/x, not @Boris Ivanovich.',
    { mentions: [D.BORIS] }));
  put(D.live(257, 1, at(257), D.BORIS, 'Back to the very start', { reply_to: 120 }));
  const range = (a, b) => { const out = []; for (let id = a; id <= b; id++) out.push(msgs[id]); return out; };
  const reads = {};
  reads[D.ME] = 259; reads[D.BORIS] = 251; reads[D.CLARA] = 250;
  const pub = D.live(290, 2, now - 5 * D.MIN, D.CLARA, '@' + D.ME + ' lunch?', { mentions: [D.ME] });
  const groups = [
    D.liveGroup(1, 'Quarterly report', [D.ME, D.BORIS, D.CLARA], 0, 0, msgs[259], reads),
    D.liveGroup(2, 'Office', [], 2, 1, pub, null),
    D.liveGroup(3, 'Shipping', [D.ME, D.BORIS], 0, 0, D.live(100, 3, now - 9 * D.HOUR, D.BORIS, 'Trucks'), {})
  ];
  await bridge(page, 'chatSetGroups', JSON.stringify(groups));
  const badges = () => page.eval(function () {
    return [].map.call(document.querySelectorAll('#groups .group'), function (g) {
      return [Number(g.getAttribute('data-id'))].concat([].map.call(g.querySelectorAll('.badge'), function (b) {
        return b.className + ':' + b.textContent;
      }));
    });
  });
  eq('mentions badge beside the unread one (group.mentions)', await badges(),
    [[2, 'badge mention:@', 'badge:2'], [1], [3]]);
  groups[1].mentions = 3;
  await bridge(page, 'chatSetGroups', JSON.stringify(groups));
  eq('several mentions are counted in the badge', (await badges())[0], [2, 'badge mention:@3', 'badge:2']);

  // The conversation: its newest 50 held, older history exists.
  await page.click('.group[data-id="1"]');
  eq('opening asks for the newest page', asked(await take(page), 'open'), [{ action: 'open', group: 1, after: 0, seq: 'N' }]);
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(range(210, 259)), true);
  let acts = await take(page);
  eq('a reply to a message older than the history held asks for that one original (once each)',
    ofType(acts, 'quote').sort((a, b) => a.id - b.id), [{ action: 'quote', group: 1, id: 120 }, { action: 'quote', group: 1, id: 205 }]);

  // Mentions highlighted: of me (any case) marked apart; a name not resolved stays text.
  let r = await row(page, 253);
  eq('a mention of me is highlighted and the message marked', [r.cls, r.mentions], ['to-me', ['mention me:@anna petrova']]);
  r = await row(page, 256);
  eq('a mention of another member highlighted; an unresolved @name, a longer name and a link left alone',
    [r.mentions, r.text, await page.eval(function () {
      return document.querySelector('.msg[data-id="256"] a').getAttribute('href');
    })], [['mention:@Boris Ivanov'], '@Boris Ivanov and @Bob, see https://example.com/x, not @Boris Ivanovich.',
      'https://example.com/x']);

  // Read ticks: own messages only, from the members' read marks (not mine).
  eq('own message read by both others: double tick, "seen by" both on hover', (await row(page, 250)).ticks,
    ['\u2713\u2713', 'Seen by ' + D.BORIS + ', ' + D.CLARA]);
  eq('own message nobody has read yet: one tick', (await row(page, 252)).ticks, ['\u2713', 'Not seen yet']);
  eq('others\' messages carry no ticks', (await row(page, 251)).ticks, null);
  await page.click('.msg[data-id="250"] .ticks');
  eq('a tap on the ticks shows who has seen it', (await row(page, 250)).seen, 'Seen by ' + D.BORIS + ', ' + D.CLARA);
  reads[D.BORIS] = 259;
  await bridge(page, 'chatSetGroups', JSON.stringify(groups));
  eq('new read marks (chatSetGroups) update the ticks', (await row(page, 252)).ticks, ['\u2713\u2713', 'Seen by ' + D.BORIS]);
  eq('and the open "seen by" line', (await row(page, 250)).seen, 'Seen by ' + D.BORIS + ', ' + D.CLARA);

  // The menu: reply for anyone's message; edit and delete for own ones only.
  await page.click('.msg[data-id="251"] .msg-act');
  eq('menu of another\'s message: reply only', await menuItems(page), ['reply:Reply']);
  await page.click('#conv-topic');
  eq('a click elsewhere closes the menu', await menuItems(page), null);
  await page.click('.msg[data-id="250"] .msg-act');
  eq('menu of an own message: reply, edit, delete', await menuItems(page), ['reply:Reply', 'edit:Edit', 'delete:Delete']);

  // Edit in the input box; Esc gives the draft back.
  await setInput(page, 'my draft');
  await page.click('#menu-edit');
  eq('editing: the text in the input, the bar says so', await composer(page),
    { cls: 'composer editing', ctx: ['Editing a message \u00b7 Enter saves, Esc cancels', 'Draft is ready'], input: 'Draft is ready' });
  await page.press('#input', 'Escape');
  eq('Esc cancels the edit and restores the draft', await composer(page), { cls: 'composer', ctx: null, input: 'my draft' });
  eq('a cancelled edit sends nothing', ofType(await take(page), 'edit'), []);
  await page.click('.msg[data-id="250"] .msg-act');
  await page.click('#menu-edit');
  await setInput(page, '');
  await page.type('#input', 'Draft is ready, v2');
  await page.press('#input', 'Enter');
  acts = await take(page);
  const edit = ofType(acts, 'edit');
  eq('Enter saves: "edit" with seq, group, id and the new text', edit.map((a) => [a.group, a.id, a.text, typeof a.seq]),
    [[1, 250, 'Draft is ready, v2', 'number']]);
  eq('no send for an edit', ofType(acts, 'send'), []);
  eq('the input gets the draft back', (await composer(page)).input, 'my draft');
  r = await row(page, 250);
  eq('the new text shows as saving until its revision arrives', [r.text, r.time], ['Draft is ready, v2', 'saving\u2026']);
  await bridge(page, 'chatAddMessages', JSON.stringify([Object.assign({}, msgs[250], {
    text: 'Draft is ready, v2', rev: 300, edited: D.iso(now)
  })]));
  r = await row(page, 250);
  eq('a higher revision replaces the held message: new text, "edited" mark', [r.text, /^edited \d\d:\d\d/.test(r.time)],
    ['Draft is ready, v2', true]);
  await bridge(page, 'chatAddMessages', JSON.stringify([Object.assign({}, msgs[250], { text: 'stale', rev: 299 }),
    Object.assign({}, msgs[250], { text: 'same revision', rev: 300 })]));
  eq('a lower or equal revision changes nothing', (await row(page, 250)).text, 'Draft is ready, v2');
  await bridge(page, 'chatAddMessages', JSON.stringify([Object.assign({}, msgs[259], { text: 'filler 259, corrected', rev: 301 })]));
  eq('an edit of the last message shows in the group list too', await text(page, '.group[data-id="1"] .group-preview'),
    D.CLARA + ': filler 259, corrected');

  // A failed edit: marked, the held text back; a click takes it to the input again.
  await setInput(page, '');
  await page.click('.msg[data-id="252"] .msg-act');
  await page.click('#menu-edit');
  await setInput(page, 'Second, fixed');
  await page.press('#input', 'Enter');
  const failedEdit = ofType(await take(page), 'edit')[0];
  eq('chatShowError(text, seq) of an edit returns true', await bridge(page, 'chatShowError', 'Not allowed', failedEdit.seq), true);
  r = await row(page, 252);
  eq('the failed edit is marked "not saved" and shows the unedited text', [r.cls, r.text, r.time],
    ['edit-failed own', 'Second own message', 'not saved']);
  await page.click('#error-close');
  await page.click('.msg[data-id="252"] .text');
  eq('clicking it edits again with the text that failed', await composer(page),
    { cls: 'composer editing', ctx: ['Editing a message \u00b7 Enter saves, Esc cancels', 'Second own message'], input: 'Second, fixed' });
  await page.press('#input', 'Escape');

  // Delete asks twice, then the tombstone replaces the message.
  await page.click('.msg[data-id="252"] .msg-act');
  await page.click('#menu-delete');
  eq('the first click on delete asks again', await menuItems(page), ['reply:Reply', 'edit:Edit', 'delete:Delete for everyone?']);
  eq('and deletes nothing yet', ofType(await take(page), 'delete'), []);
  await page.click('#menu-delete');
  acts = await take(page);
  eq('the second click queues "delete" with seq, group and id', ofType(acts, 'delete').map((a) => [a.group, a.id, typeof a.seq]),
    [[1, 252, 'number']]);
  eq('deleting\u2026 until the tombstone comes', (await row(page, 252)).time, 'deleting\u2026');
  await bridge(page, 'chatAddMessages', JSON.stringify([Object.assign({}, msgs[252], { text: '', deleted: true, rev: 310 })]));
  r = await row(page, 252);
  eq('the tombstone: "Message deleted", no text, no menu, no ticks', [r.cls, r.text, r.act, r.ticks],
    ['deleted own', 'Message deleted', 0, null]);
  await page.click('.msg[data-id="250"] .msg-act');
  await page.click('#menu-delete');
  await page.click('#menu-delete');
  const failedDelete = ofType(await take(page), 'delete')[0];
  await bridge(page, 'chatShowError', 'The store is locked', failedDelete.seq);
  r = await row(page, 250);
  eq('a failed delete leaves the message as it was', [r.text, /^edited/.test(r.time)], ['Draft is ready, v2', true]);
  await page.click('#error-close');

  // Reply: the composer quotes the message; Esc cancels; the reply is sent with replyTo.
  await setInput(page, '');
  await page.click('.msg[data-id="251"] .msg-act');
  await page.click('#menu-reply');
  eq('replying: the bar quotes the message', await composer(page),
    { cls: 'composer replying', ctx: ['Reply to ' + D.BORIS, 'Looks good'], input: '' });
  await page.press('#input', 'Escape');
  eq('Esc cancels the reply', (await composer(page)).ctx, null);
  await page.click('.msg[data-id="251"] .msg-act');
  await page.click('#menu-reply');
  await page.click('#ctx-close');
  eq('so does the bar\'s \u00d7', (await composer(page)).ctx, null);
  await page.click('.msg[data-id="251"] .msg-act');
  await page.click('#menu-reply');
  await page.type('#input', 'Thanks');
  await page.press('#input', 'Enter');
  eq('the reply goes out with replyTo', ofType(await take(page), 'send').map((a) => [a.text, a.replyTo]), [['Thanks', 251]]);
  eq('the bar is gone after sending', (await composer(page)).ctx, null);
  eq('the pending reply shows its quote', await page.eval(function () {
    const q = document.querySelector('#pending-list .msg .quote');
    return q ? [].map.call(q.children, function (c) { return c.textContent; }) : null;
  }), [D.BORIS, 'Looks good']);
  await bridge(page, 'chatAddMessages', JSON.stringify([D.live(320, 1, Date.now(), D.ME, 'Thanks', { reply_to: 251 })]));
  eq('the sent reply shows the quote of the original above its text', [(await row(page, 320)).quote, (await row(page, 320)).text],
    [[D.BORIS, 'Looks good'], 'Thanks']);
  await page.click('.msg[data-id="254"] .quote');
  eq('clicking a quote scrolls to the original, which blinks', [await inView(page, 250), (await row(page, 250)).cls.indexOf('flash') >= 0],
    [true, true]);

  // The original of a quote older than the history: its answer fills the quote only.
  eq('until it comes, the quote says it answers an earlier message', (await row(page, 255)).quote, ['Reply to an earlier message']);
  await bridge(page, 'chatAddMessages', JSON.stringify([msgs[205]]));
  eq('the "quote" answer fills the quote', (await row(page, 255)).quote, [D.BORIS, 'The original question']);
  let st = await listState(page);
  eq('and is not put into the history (no gap)', [st.firstId, await row(page, 205)], [210, null]);

  // Clicking a quote whose original is older: "older" page after page until it is held.
  await take(page);
  await page.click('.msg[data-id="257"] .quote');
  eq('the click asks for the page before the history held', asked(await take(page), 'older'), [{ action: 'older', group: 1, before: 210, seq: 'N' }]);
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(range(160, 209)), true);
  eq('not there yet: the next older page is asked for by itself', asked(await take(page), 'older'), [{ action: 'older', group: 1, before: 160, seq: 'N' }]);
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(range(110, 159)), true);
  await sleep(50);
  eq('held now: scrolled to it, it blinks, nothing more asked', [await inView(page, 120), (await row(page, 120)).cls.indexOf('flash') >= 0,
    ofType(await take(page), 'older')], [true, true, []]);
  st = await listState(page);
  eq('the history stays whole', [st.firstId, st.lastId, st.count], [110, 320, 151]);

  // A message below the history held (older history exists) is not put in; a group not
  // loaded yet holds nothing, so opening it asks for its newest page.
  await bridge(page, 'chatAddMessages', JSON.stringify([D.live(50, 1, now - 20 * D.HOUR, D.CLARA, 'edited long ago', { rev: 330, edited: D.iso(now) }),
    D.live(331, 3, Date.now(), D.BORIS, 'New in a group not opened yet')]));
  st = await listState(page);
  eq('an update of a message older than the history held leaves the history alone', [st.firstId, st.count], [110, 151]);
  eq('the group not loaded shows the new message in the list', await text(page, '.group[data-id="3"] .group-preview'),
    'Boris Ivanov: New in a group not opened yet');
  await page.click('.group[data-id="3"]');
  eq('opening it asks for its newest page (nothing was held)', asked(await take(page), 'open'), [{ action: 'open', group: 3, after: 0, seq: 'N' }]);
  await bridge(page, 'chatPrependMessages', 3, JSON.stringify([D.live(331, 3, Date.now(), D.BORIS, 'New in a group not opened yet')]), false);

  // @ suggestions: the members of a private group.
  await page.click('.group[data-id="1"]');
  await take(page);
  await setInput(page, '');
  await page.type('#input', 'Ask @bo');
  eq('"@" + letters offers the matching members', await suggestions(page), ['*' + D.BORIS]);
  await page.press('#input', 'Enter');
  eq('Enter takes the name (and sends nothing)', [(await composer(page)).input, await suggestions(page), ofType(await take(page), 'send')],
    ['Ask @' + D.BORIS + ' ', null, []]);
  await page.type('#input', 'and @');
  eq('"@" alone offers every member but me', await suggestions(page), ['*' + D.BORIS, D.CLARA]);
  await page.press('#input', 'ArrowDown');
  eq('arrows move the choice', await suggestions(page), [D.BORIS, '*' + D.CLARA]);
  await page.press('#input', 'Tab');
  eq('Tab takes it', (await composer(page)).input, 'Ask @' + D.BORIS + ' and @' + D.CLARA + ' ');
  await page.type('#input', 'cc @cl');
  await page.press('#input', 'Escape');
  eq('Esc closes the suggestions only', [await suggestions(page), (await composer(page)).input],
    [null, 'Ask @' + D.BORIS + ' and @' + D.CLARA + ' cc @cl']);
  await setInput(page, 'mail me at x@bo');
  eq('an "@" inside a word is no mention', await suggestions(page), null);
  await setInput(page, '');

  // In a public topic: the infobase users (asked for once) and everyone seen.
  await page.click('.group[data-id="2"]');
  await bridge(page, 'chatPrependMessages', 2, JSON.stringify([pub, D.live(291, 2, Date.now(), D.ME, 'Own, in public')]), false);
  await take(page);
  eq('own messages in a public topic carry no ticks', (await row(page, 291)).ticks, null);
  await page.type('#input', '@');
  eq('"@" in a public topic asks 1C for the users', ofType(await take(page), 'people'), [{ action: 'people' }]);
  await bridge(page, 'chatSetPeople', JSON.stringify([{ name: 'dorlov', title: 'Dmitry Orlov' }, { name: D.ME, title: D.ME },
    { name: 'xss', title: D.XSS_IMG }]));
  eq('users and the people seen are offered (the choice stays where it was)', await suggestions(page),
    ['dorlov', 'xss', '*' + D.BORIS, D.CLARA]);
  await page.type('#input', 'orl');
  eq('a title matches too', await suggestions(page), ['*dorlov']);
  await page.click('#mention-list .person[data-name="dorlov"]');
  eq('a click takes the user name', (await composer(page)).input, '@dorlov ');
  eq('XSS in a suggested title is inert', await page.eval(function () {
    return document.querySelectorAll('#mention-list img').length;
  }), 0);
  await setInput(page, '');

  // Hostile content in the new places stays text.
  await page.click('.group[data-id="1"]');
  await take(page);
  await bridge(page, 'chatAddMessages', JSON.stringify([
    D.live(340, 1, Date.now(), D.XSS_IMG, '@' + D.XSS_IMG + ' hi', { mentions: [D.XSS_IMG] }),
    D.live(341, 1, Date.now(), D.BORIS, 'quoting', { reply_to: 340 }),
    Object.assign({}, msgs[251], { text: D.XSS_SCRIPT, rev: 342, edited: D.iso(now) })
  ]));
  eq('XSS in mentions, quotes and edits shown literally', [(await row(page, 340)).mentions, (await row(page, 341)).quote,
    (await row(page, 251)).text], [['mention:@' + D.XSS_IMG], [D.XSS_IMG, '@' + D.XSS_IMG + ' hi'], D.XSS_SCRIPT]);
  const probe = await inertProbe(page);
  eq('and inert', [probe.pwned, probe.media, probe.alerts], ['undefined', 0, 0]);

  // Russian marks.
  await bridge(page, 'chatSetUser', D.ME, 'ru');
  eq('Russian marks: deleted, edited', [(await row(page, 252)).text, /^изменено \d\d:\d\d/.test((await row(page, 250)).time)],
    ['Сообщение удалено', true]);
  await page.click('.msg[data-id="250"] .msg-act');
  eq('Russian menu', await menuItems(page), ['reply:Ответить', 'edit:Изменить', 'delete:Удалить']);
  await page.click('#menu-reply');
  eq('Russian reply bar', (await composer(page)).ctx, ['В ответ: Вы', 'Draft is ready, v2']);
  await page.press('#input', 'Escape');
  await bridge(page, 'chatSetUser', D.ME, 'en');
  await page.screenshot(path.join(ARTIFACTS, 'live-' + engineName + '.png'));
  await noProblems(page, 'live');
}

// ---- Find, share, link (issue 13) ----

// The search box's "Messages" section: [conversation, sender, text, marked parts] per result.
function results(page) {
  return page.eval(function () {
    const box = document.getElementById('results');
    if (box.hidden) return null;
    return {
      items: [].map.call(box.querySelectorAll('.result'), function (r) {
        return [r.querySelector('.result-conv').textContent, r.querySelector('.result-who').textContent,
          r.querySelector('.result-text').textContent.slice(r.querySelector('.result-who').textContent.length),
          [].map.call(r.querySelectorAll('mark.hit'), function (m) { return m.textContent; })];
      }),
      status: document.getElementById('results-status').textContent
    };
  });
}

function setFilter(page, value) {
  return setInput(page, value, 'filter');
}

function groupIds(page) {
  return page.eval(function () {
    return [].map.call(document.querySelectorAll('#groups .group'), function (g) { return Number(g.getAttribute('data-id')); });
  });
}

async function scrollMessagesToBottom(page) {
  await page.eval(function () {
    const m = document.getElementById('messages');
    m.scrollTop = m.scrollHeight;
    m.dispatchEvent(new Event('scroll'));
  });
  await sleep(50);
}

function rowTop(page, id) {
  return page.eval(function (n) {
    const r = document.querySelector('#msg-list .msg[data-id="' + n + '"]');
    return r ? Math.round(r.getBoundingClientRect().top) : null;
  }, id);
}

// Search: titles at once, messages from 3 characters (after a pause or on Enter), results
// with conversation, sender and the matches marked (case and ё/е aside); choosing one opens
// the conversation at it: held already, or loaded afresh around it ("around"), with "newer"
// pages below the window and a jump back to the newest.
async function phaseSearch(page) {
  const now = Date.now();
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  const msgs = {};
  for (let id = 1000; id <= 1300; id++) msgs[id] = D.live(id, 1, now - (1400 - id) * D.MIN, [D.BORIS, D.CLARA][id % 2], 'filler ' + id);
  msgs[1010] = D.live(1010, 1, now - 390 * D.MIN, D.BORIS, 'The Ёлка invoice is late again, ёлка!');
  msgs[1290] = D.live(1290, 1, now - 110 * D.MIN, D.CLARA, 'Where is the ЕЛКА invoice?');
  const long = 'word '.repeat(40) + 'the елка invoice ' + 'tail '.repeat(60);
  msgs[1100] = D.live(1100, 1, now - 300 * D.MIN, D.ME, long);
  const range = (a, b) => { const out = []; for (let id = a; id <= b; id++) out.push(msgs[id]); return out; };
  const groups = [
    D.liveGroup(1, 'Quarterly report', [D.ME, D.BORIS, D.CLARA], 0, 0, msgs[1299], {}),
    D.liveGroup(2, 'Ёлочные игрушки', [], 0, 0, D.live(1400, 2, now - 5 * D.MIN, D.BORIS, 'x'), null)
  ];
  await bridge(page, 'chatSetGroups', JSON.stringify(groups));
  await page.click('.group[data-id="1"]');
  const opened = ofType(await take(page), 'open')[0];
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(range(1250, 1299)), true, opened.seq);
  await take(page);

  // Fewer than 3 characters: titles only (ё and е alike), no message search.
  await setFilter(page, 'ел');
  await sleep(450);
  eq('two characters filter the titles (ё = е) and search no messages', [await groupIds(page), ofType(await take(page), 'search'),
    await results(page)], [[2], [], null]);
  await setFilter(page, 'елка');
  eq('three or more: nothing asked while typing goes on', ofType(await take(page), 'search'), []);
  await sleep(450);
  const search = ofType(await take(page), 'search');
  eq('after a pause "search" is queued with its seq, the text and group 0', search.map((a) => [a.text, a.group, typeof a.seq]),
    [['елка', 0, 'number']]);
  eq('"Searching…" until the answer', await results(page), { items: [], status: 'Searching…' });
  await page.press('#filter', 'Enter');
  eq('Enter with the text already searched asks nothing again', ofType(await take(page), 'search'), []);
  await bridge(page, 'chatSearchResults', search[0].seq - 1, JSON.stringify([msgs[1010]]));
  eq('an answer to an earlier search is dropped', (await results(page)).status, 'Searching…');
  const found = [msgs[1290], D.live(1500, 77, now - 200 * D.MIN, D.XSS_IMG, 'Discussion of елка ' + D.XSS_SCRIPT),
    msgs[1100], msgs[1010]];
  eq('chatSearchResults returns true', await bridge(page, 'chatSearchResults', search[0].seq, JSON.stringify(found)), true);
  const res = await results(page);
  eq('results newest first: conversation, sender, text with every match marked', res.items.map((r) => [r[0], r[1], r[3]]), [
    ['Quarterly report', D.CLARA + ': ', ['ЕЛКА']],
    ['Discussion', D.XSS_IMG + ': ', ['елка']],
    ['Quarterly report', 'You: ', ['елка']],
    ['Quarterly report', D.BORIS + ': ', ['Ёлка', 'ёлка']]]);
  eq('a short text is shown whole', res.items[0][2], 'Where is the ЕЛКА invoice?');
  check('a long text is cut around the match', /^\u2026.{0,45}the елка invoice .*\u2026$/.test(res.items[2][2]) && res.items[2][2].length < 200,
    res.items[2][2]);
  eq('no title matches: the titles\' "nothing found" gives way to the messages section', [await groupIds(page),
    await page.eval(function () { return document.getElementById('groups-empty').hidden; })], [[], true]);
  eq('XSS in a found message is shown literally and inert', [res.items[1][2], (await inertProbe(page)).media],
    ['Discussion of елка ' + D.XSS_SCRIPT, 0]);

  // A result held already: scrolled to, nothing asked.
  await page.click('.result[data-id="1290"]');
  eq('choosing a held message asks 1C for nothing', (await take(page)).filter((a) => a.action !== 'read'), []);
  await sleep(50);
  eq('it is scrolled to and blinks; the result is marked chosen', [await inView(page, 1290), (await row(page, 1290)).cls.indexOf('flash') >= 0,
    await page.eval(function () { return document.querySelector('.result.active').getAttribute('data-id'); })], [true, true, '1290']);

  // A result older than the history held: the conversation is loaded afresh around it.
  await page.click('.result[data-id="1010"]');
  let acts = await take(page);
  const around = asked(acts, 'around');
  eq('an older one queues "around" with the group and the message', around, [{ action: 'around', group: 1, id: 1010, seq: 'N' }]);
  const aroundSeq = ofType(acts, 'around')[0].seq;
  let st = await listState(page);
  eq('the history held before is let go while the window comes', [st.count, await text(page, '#conv-status')], [0, 'Loading…']);
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(range(1250, 1299)), true);
  eq('a page that comes meanwhile (no seq) is not taken', (await listState(page)).count, 0);
  eq('chatShowAround returns true', await bridge(page, 'chatShowAround', 1, JSON.stringify(range(1000, 1010)),
    JSON.stringify(range(1011, 1060)), false, true, aroundSeq), true);
  await sleep(50);
  st = await listState(page);
  eq('the window: the message, the history before and after it', [st.firstId, st.lastId, st.count, st.olderHidden], [1000, 1060, 61, true]);
  eq('scrolled to the message, which blinks', [await inView(page, 1010), (await row(page, 1010)).cls.indexOf('flash') >= 0], [true, true]);
  await page.screenshot(path.join(ARTIFACTS, 'search-' + engineName + '.png'));
  eq('the jump button leads to the newest messages', [st.jump, await page.eval(function () {
    return document.getElementById('jump-btn').getAttribute('title');
  })], ['', 'To the newest messages']);
  eq('reading a window of old history marks nothing read', ofType(await take(page), 'read'), []);
  await bridge(page, 'chatAddMessages', JSON.stringify([msgs[1300]]));
  eq('a new message is not put below a window away from the newest', (await listState(page)).lastId, 1060);

  // Scrolled to the bottom of the window: the page after it.
  const anchor = await rowTop(page, 1055);
  await scrollMessagesToBottom(page);
  acts = await take(page);
  eq('at the bottom of the window "newer" asks for what follows', asked(acts, 'newer'), [{ action: 'newer', group: 1, after: 1060, seq: 'N' }]);
  const newerSeq = ofType(acts, 'newer')[0].seq;
  const topBefore = await rowTop(page, 1055);
  await bridge(page, 'chatAppendMessages', 1, JSON.stringify(range(1061, 1110)), true, newerSeq + 100);
  eq('an answer to another request is not taken', (await listState(page)).lastId, 1060);
  eq('chatAppendMessages returns true', await bridge(page, 'chatAppendMessages', 1, JSON.stringify(range(1061, 1110)), true, newerSeq), true);
  st = await listState(page);
  eq('the next page is added below, the view does not move', [st.lastId, st.count, await rowTop(page, 1055)], [1110, 111, topBefore]);
  check('the row was on screen before', anchor !== null);

  // To the newest: the conversation loads afresh at its end.
  await page.click('#jump-btn');
  acts = await take(page);
  eq('the jump asks for the newest page', asked(acts, 'open'), [{ action: 'open', group: 1, after: 0, seq: 'N' }]);
  const newestSeq = ofType(acts, 'open')[0].seq;
  await bridge(page, 'chatShowAround', 1, JSON.stringify(range(1000, 1010)), JSON.stringify(range(1011, 1060)), false, true, aroundSeq);
  eq('a late window is not taken', (await listState(page)).count, 0);
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(range(1251, 1300)), true, newestSeq);
  st = await listState(page);
  eq('at the newest again: no jump button, read up to the end', [st.lastId, st.jump, st.atBottom, ofType(await take(page), 'read')],
    [1300, null, true, [{ action: 'read', group: 1, upTo: 1300 }]]);

  // A window that cannot be had: the conversation opens at its newest messages.
  await page.click('.result[data-id="1010"]');
  const failing = ofType(await take(page), 'around')[0];
  await bridge(page, 'chatShowError', 'The store is locked', failing.seq);
  eq('a failed "around" asks for the newest page instead', asked(await take(page), 'open'), [{ action: 'open', group: 1, after: 0, seq: 'N' }]);
  await page.click('#error-close');

  // A found message of a discussion the list does not show: opened all the same; text goes by id.
  await page.click('.result[data-id="1500"]');
  const d = ofType(await take(page), 'around')[0];
  eq('a conversation not listed is opened around the message', [d.group, d.id], [77, 1500]);
  eq('and called a discussion', [await text(page, '#conv-topic'), await text(page, '#conv-people')], ['Discussion', 'Discussion']);
  await bridge(page, 'chatShowAround', 77, JSON.stringify([found[1]]), '[]', false, false, d.seq);
  await page.type('#input', 'I see it');
  await page.press('#input', 'Enter');
  eq('writing there queues "post" (by the conversation\'s id)', ofType(await take(page), 'post').map((a) => [a.group, a.text, a.replyTo, typeof a.seq]),
    [[77, 'I see it', 0, 'number']]);

  // Russian; clearing the box.
  await bridge(page, 'chatSetUser', D.ME, 'ru');
  eq('Russian results', [await text(page, '.results-head'), (await results(page)).items[1][0]], ['Сообщения', 'Обсуждение']);
  await bridge(page, 'chatSetUser', D.ME, 'en');
  await setFilter(page, 'zzzz');
  await page.press('#filter', 'Enter');
  const none = ofType(await take(page), 'search')[0];
  await bridge(page, 'chatSearchResults', none.seq, '[]');
  eq('nothing found', (await results(page)).status, 'No messages found');
  await setFilter(page, '');
  eq('an empty box hides the messages section and lists every conversation', [await results(page), await groupIds(page)], [null, [2, 1]]);
  await noProblems(page, 'search');
}

// What the messages' files look like: [kind, name, size, has an image, data-file].
function files(page, id) {
  return page.eval(function (n) {
    const r = document.querySelector('#msg-list .msg[data-id="' + n + '"], #pending-list .msg[data-seq="' + n + '"]');
    if (!r) return null;
    return [].map.call(r.querySelectorAll('.file'), function (f) {
      const img = f.querySelector('img');
      return [f.className.replace('file ', ''), f.querySelector('.file-name') ? f.querySelector('.file-name').textContent : null,
        f.querySelector('.file-size') ? f.querySelector('.file-size').textContent : null,
        f.querySelector('.file-icon') ? f.querySelector('.file-icon').textContent : null,
        img ? [img.getAttribute('src').slice(0, 22), img.naturalWidth, img.naturalHeight] : null, f.getAttribute('data-file')];
    });
  }, id);
}

// Drops files (name, type, base64 content) on an element, as the engine does with a drop
// from the desktop; or pastes them into the input.
function dropFiles(page, list, sel, how) {
  return page.eval(function (items, s, kind) {
    const made = items.map(function (f) {
      const bin = atob(f.b64);
      const bytes = new Uint8Array(f.size || bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return new File([bytes], f.name, { type: f.type });
    });
    const ev = document.createEvent('Event');
    ev.initEvent(kind, true, true);
    if (kind === 'paste') {
      ev.clipboardData = { items: made.map(function (f) { return { kind: 'file', getAsFile: function () { return f; } }; }) };
    } else {
      ev.dataTransfer = { files: made, types: ['Files'] };
    }
    document.querySelector(s).dispatchEvent(ev);
  }, list, sel, how || 'drop');
}

// Files: inline images up to 2 MB (their data asked for once, base64 from the form), larger
// images and other files as cards; a click saves; drag-and-drop and paste hand files to the
// form as base64 (or ask for 1C's dialog where the engine cannot read them).
async function phaseFiles(page) {
  const now = Date.now();
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  const png = D.png(40, 30);
  const f = (id, name, size, type) => ({ id: id, name: name, size: size, type: type });
  const msgs = [
    D.live(500, 1, now - 9 * D.MIN, D.ME, '', { files: [f(11, 'chart.png', png.length, 'image/png')] }),
    D.live(501, 1, now - 8 * D.MIN, D.BORIS, 'Scan attached', { files: [f(12, 'scan.jpg', 3 * 1024 * 1024, 'image/jpeg')] }),
    D.live(502, 1, now - 7 * D.MIN, D.BORIS, '', { files: [f(13, D.XSS_IMG + '.pdf', 1536, 'application/pdf')] }),
    D.live(503, 1, now - 6 * D.MIN, D.CLARA, 'logo', { files: [f(14, 'logo.svg', 100, 'image/svg+xml')] }),
    D.live(504, 1, now - 5 * D.MIN, D.BORIS, '', { deleted: true, files: [f(16, 'gone.png', 10, 'image/png')] }),
    D.live(505, 1, now - 4 * D.MIN, D.CLARA, '', { files: [f(15, 'broken.png', 70, 'image/png')] })
  ];
  await bridge(page, 'chatSetGroups', JSON.stringify([D.liveGroup(1, 'Quarterly report', [D.ME, D.BORIS, D.CLARA], 0, 0, msgs[5], {})]));
  eq('a message with a file only is previewed by the file\'s name', await text(page, '.group[data-id="1"] .group-preview'),
    D.CLARA + ': File: broken.png');
  await page.click('.group[data-id="1"]');
  const open = ofType(await take(page), 'open')[0];
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(msgs), false, open.seq);
  const acts = await take(page);
  eq('inline images (png, jpeg, gif, webp, bmp up to 2 MB) are asked for once each', ofType(acts, 'image'),
    [{ action: 'image', id: 11, type: 'image/png' }, { action: 'image', id: 15, type: 'image/png' }]);
  eq('until their data comes they take a place', (await files(page, 500))[0].slice(0, 1), ['image loading']);
  eq('a larger image is a card with name and size', await files(page, 501), [['card', 'scan.jpg', '3 MB', 'JPG', null, '12']]);
  eq('another file is a card (XSS in its name literal)', await files(page, 502), [['card', D.XSS_IMG + '.pdf', '1.5 KB', 'PDF', null, '13']]);
  eq('an SVG is never shown inline', await files(page, 503), [['card', 'logo.svg', '100 B', 'SVG', null, '14']]);
  eq('a deleted message shows no file', [await files(page, 504), (await row(page, 504)).text], [[], 'Message deleted']);
  eq('chatSetFileData returns true', await bridge(page, 'chatSetFileData', 11, D.base64Lines(png), 'image/png'), true);
  await sleep(150);
  eq('the image shows, decoded from base64 with Base64Строка\'s line breaks', await files(page, 500),
    [['image', null, null, null, ['data:image/png;base64,', 40, 30], '11']]);
  await bridge(page, 'chatSetFileData', 15, '', '');
  eq('a file that cannot be had becomes a card', await files(page, 505), [['card', 'broken.png', '70 B', 'PNG', null, '15']]);
  await bridge(page, 'chatSetFileData', 14, png.toString('base64'), 'image/svg+xml');
  await bridge(page, 'chatSetFileData', 12, '"><script>window.pwned=1</script>', 'image/jpeg');
  eq('data of another type or not base64 makes no image', [await files(page, 503), (await files(page, 501))[0][4]],
    [[['card', 'logo.svg', '100 B', 'SVG', null, '14']], null]);
  const probe = await inertProbe(page);
  eq('the one image is the only media; nothing injected ran', [probe.media, probe.pwned, probe.alerts], [1, 'undefined', 0]);
  await bridge(page, 'chatSetUser', D.ME, 'ru');
  eq('sizes in Russian', (await files(page, 502))[0][2], '1,5 КБ');
  await bridge(page, 'chatSetUser', D.ME, 'en');
  eq('redrawing asks for no image again', ofType(await take(page), 'image'), []);

  // A click saves the file through the form.
  await page.click('.msg[data-id="500"] .file');
  await page.click('.msg[data-id="502"] .file-name');
  eq('clicking an image or a card queues "save" with id and name', ofType(await take(page), 'save'),
    [{ action: 'save', id: 11, name: 'chart.png' }, { action: 'save', id: 13, name: D.XSS_IMG + '.pdf' }]);

  // Drag-and-drop: read here, handed to the form as base64.
  const hrefBefore = await page.eval(function () { return location.href; });
  await page.eval(function () {
    const ev = document.createEvent('Event');
    ev.initEvent('dragover', true, true);
    ev.dataTransfer = { files: [], types: ['Files'] };
    document.getElementById('messages').dispatchEvent(ev);
  });
  eq('dragging files over the conversation shows where to drop', await page.eval(function () {
    return getComputedStyle(document.getElementById('drop-hint')).display;
  }), 'block');
  const notes = Buffer.from('hello, world\n');
  await dropFiles(page, [{ name: 'notes.txt', type: 'text/plain', b64: notes.toString('base64') }], '#messages');
  await sleep(150);
  let fa = ofType(await take(page), 'file');
  eq('a dropped file queues "file" with seq, group, name and size', fa.map((a) => [a.group, a.name, a.size, typeof a.seq]),
    [[1, 'notes.txt', notes.length, 'number']]);
  eq('the drop hint is gone, and the field did not navigate', [await page.eval(function () {
    return getComputedStyle(document.getElementById('drop-hint')).display;
  }), await page.eval(function () { return location.href; })], ['none', hrefBefore]);
  eq('it shows as sending, a card with its name and size', [await files(page, fa[0].seq), (await pendingStates(page))[0][1]],
    [[['card', 'notes.txt', '13 B', 'TXT', null, null]], 'sending…']);
  eq('chatTakeFile(seq) gives its content as base64, once', [await bridge(page, 'chatTakeFile', fa[0].seq),
    await bridge(page, 'chatTakeFile', fa[0].seq)], [notes.toString('base64'), '']);
  await bridge(page, 'chatAddMessages', JSON.stringify([D.live(510, 1, Date.now(), D.ME, '', { files: [f(20, 'notes.txt', notes.length, 'text/plain')] })]));
  eq('its echo replaces the sending card', [await pendingStates(page), await files(page, 510)],
    [[], [['card', 'notes.txt', '13 B', 'TXT', null, '20']]]);

  // A file whose sending failed: marked, a click takes it away.
  await dropFiles(page, [{ name: 'table.csv', type: 'text/csv', b64: Buffer.from('a;b\n').toString('base64') }], '#input');
  await sleep(150);
  fa = ofType(await take(page), 'file');
  await bridge(page, 'chatShowError', 'Not allowed', fa[0].seq);
  eq('a failed file is marked "not sent"', [await pendingStates(page), await page.eval(function () {
    return document.querySelector('#pending-list .msg.failed').getAttribute('title');
  })], [[['', 'not sent']], 'Not sent. Click to dismiss.']);
  await page.click('#error-close');
  await page.click('#pending-list .msg.failed .bubble');
  eq('a click takes it away; its data is gone', [await pendingStates(page), await bridge(page, 'chatTakeFile', fa[0].seq),
    (await page.eval(function () { return document.getElementById('input').value; }))], [[], '', '']);

  // Larger than 25 MB: refused at once, nothing queued.
  await dropFiles(page, [{ name: 'video.mp4', type: 'video/mp4', b64: '', size: 26214401 }], '#messages');
  await sleep(150);
  const b = await banner(page);
  eq('a file over 25 MB is refused with its name, nothing queued', [b.shown, b.text.indexOf('Files up to 25 MB') === 0,
    b.text.indexOf('video.mp4') > 0, ofType(await take(page), 'file'), await pendingStates(page)], [true, true, true, [], []]);
  await page.click('#error-close');

  // A pasted screenshot.
  await dropFiles(page, [{ name: 'image.png', type: 'image/png', b64: png.toString('base64') }], '#input', 'paste');
  await sleep(150);
  fa = ofType(await take(page), 'file');
  check('a pasted image is sent as screenshot-<date>-<time>.png', fa.length === 1 && /^screenshot-\d{8}-\d{6}\.png$/.test(fa[0].name), fa);
  eq('with its bytes', await bridge(page, 'chatTakeFile', fa[0].seq), png.toString('base64'));
  await bridge(page, 'chatShowError', 'x', fa[0].seq);
  await page.click('#error-close');
  await page.click('#pending-list .msg.failed .bubble');

  // An engine that cannot read files (no FileReader: Internet Explorer before 8.3.14): 1C's dialog.
  await page.eval(function () { window.__reader = window.FileReader; window.FileReader = undefined; });
  await dropFiles(page, [{ name: 'a.txt', type: 'text/plain', b64: 'YQ==' }], '#messages');
  await sleep(100);
  await page.eval(function () { window.FileReader = window.__reader; });
  eq('without FileReader a drop asks the form for its file dialog', [ofType(await take(page), 'attach'), await pendingStates(page)],
    [[{ action: 'attach', group: 1 }], []]);
  await page.click('#attach-btn');
  eq('so does the attach button', ofType(await take(page), 'attach'), [{ action: 'attach', group: 1 }]);

  // Outside a conversation a drop does nothing (and never navigates).
  await page.click('#new-btn');
  await take(page);
  await dropFiles(page, [{ name: 'b.txt', type: 'text/plain', b64: 'Yg==' }], '#new-form');
  await sleep(150);
  eq('a drop outside a conversation queues nothing', [(await take(page)).filter((a) => a.action !== 'people'),
    await page.eval(function () { return location.href; })], [[], hrefBefore]);
  await page.click('#new-cancel');
  await page.screenshot(path.join(ARTIFACTS, 'files-' + engineName + '.png'));
  await noProblems(page, 'files');
}

// 1C links: e1cib/... and e1c://... become links the form opens; javascript:, file: and
// the like stay text. "Insert a link to this object"; a discussion links to its object.
async function phaseLinks(page) {
  const now = Date.now();
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  const invoice = 'e1cib/data/Документ.Счет?ref=00aa11bb';
  const body = 'Invoice ' + invoice + ', the list e1c://server/trade#e1cib/list/Документ.Счет and https://example.com/x. ' +
    'Not links: javascript:alert(1) file:///etc/passwd e1cibx/nope vbscript:msgbox(1) javascript:e1cib/x';
  const groups = [
    D.liveGroup(1, 'Quarterly report', [D.ME, D.BORIS], 0, 0, D.live(600, 1, now, D.BORIS, body), {}),
    Object.assign(D.liveGroup(3, 'Счет 12 от 01.12.2026', [], 0, 0, D.live(610, 3, now - D.HOUR, D.BORIS, 'Сумма?'), null),
      { context: invoice })
  ];
  await bridge(page, 'chatSetGroups', JSON.stringify(groups));
  await page.click('.group[data-id="1"]');
  const open = ofType(await take(page), 'open')[0];
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify([groups[0].last]), false, open.seq);
  const anchors = await page.eval(function () {
    return [].map.call(document.querySelectorAll('.msg[data-id="600"] a'), function (a) {
      return [a.textContent, a.getAttribute('href'), a.getAttribute('data-url')];
    });
  });
  eq('e1cib/ and e1c:// are links without href, http(s) keeps its href; the rest stays text', anchors, [
    [invoice, null, invoice], ['e1c://server/trade#e1cib/list/Документ.Счет', null, 'e1c://server/trade#e1cib/list/Документ.Счет'],
    ['https://example.com/x', 'https://example.com/x', null], ['e1cib/x', null, 'e1cib/x']]);
  eq('the text reads as written', (await row(page, 600)).text, body);
  const hrefBefore = await page.eval(function () { return location.href; });
  await page.click('.msg[data-id="600"] a.e1c');
  await page.click('.msg[data-id="600"] a[data-url^="e1c:"]');
  await sleep(100);
  eq('a click on a 1C link asks the form to open it', ofType(await take(page), 'link'),
    [{ action: 'link', url: invoice }, { action: 'link', url: 'e1c://server/trade#e1cib/list/Документ.Счет' }]);
  eq('the field did not navigate; nothing ran', [await page.eval(function () { return location.href; }), (await inertProbe(page)).pwned],
    [hrefBefore, 'undefined']);

  // "Insert a link to this object" where the form has one.
  eq('no object: no link button', await page.eval(function () { return document.getElementById('link-btn').hidden; }), true);
  eq('chatSetObject returns true', await bridge(page, 'chatSetObject', invoice, 'Счет 12 от 01.12.2026'), true);
  eq('the link button offers the object', await page.eval(function () {
    const b = document.getElementById('link-btn');
    return [b.hidden, b.getAttribute('title')];
  }), [false, 'Insert a link to Счет 12 от 01.12.2026']);
  await page.type('#input', 'See');
  await page.click('#link-btn');
  eq('it puts «title» and the link at the caret', (await composer(page)).input, 'See «Счет 12 от 01.12.2026» ' + invoice + ' ');
  await page.press('#input', 'Enter');
  const sent = ofType(await take(page), 'send')[0];
  await bridge(page, 'chatAddMessages', JSON.stringify([D.live(601, 1, Date.now(), D.ME, sent.text)]));
  eq('the sent link is a link', await page.eval(function () {
    const a = document.querySelector('.msg[data-id="601"] a');
    return a ? a.getAttribute('data-url') : null;
  }), invoice);
  await bridge(page, 'chatSetObject', 'javascript:alert(1)', 'x');
  eq('anything but a 1C link is no object', await page.eval(function () { return document.getElementById('link-btn').hidden; }), true);

  // A discussion in the whole chat: its header opens the object; text goes by id.
  await page.click('.group[data-id="3"]');
  await take(page);
  eq('a discussion\'s header: its title, "Discussion" and a link to the object', [await text(page, '#conv-topic'), await text(page, '#conv-people'),
    await page.eval(function () { return document.getElementById('conv-link').hidden; })], ['Счет 12 от 01.12.2026', 'Discussion', false]);
  await page.click('#conv-link');
  eq('which the form opens', ofType(await take(page), 'link'), [{ action: 'link', url: invoice }]);
  await page.type('#input', 'Сумма верна');
  await page.press('#input', 'Enter');
  eq('a reply in a discussion is a "post"', [ofType(await take(page), 'post').map((a) => [a.group, a.text]), ofType(await take(page), 'send')],
    [[[3, 'Сумма верна']], []]);
  await page.click('.group[data-id="1"]');
  eq('an ordinary conversation has no object link', await page.eval(function () { return document.getElementById('conv-link').hidden; }), true);
  await noProblems(page, 'links');
}

// FillChat(Group): that conversation only, no list; it is asked for at once, and text and
// files go to it by its id.
async function phaseSingle(page) {
  const invoice = 'e1cib/data/Документ.Счет?ref=00aa11bb';
  const src = getHtml({
    user: D.ME, lang: 'ru', group: 1,
    seeds: [{ user: D.BORIS, call: ['OpenDiscussion', invoice, 'Счет 12'] }],
    // What FillChat(1) gives (the render path takes it as is).
    groups: [Object.assign(D.liveGroup(1, 'Счет 12', [], 0, 0, null, null), { context: invoice })]
  });
  await page.load(src.html, { width: 1000, height: 640 });
  const layout = () => page.eval(function () {
    const vis = function (id) { const n = document.querySelector(id); return n.offsetWidth > 0 && n.offsetHeight > 0; };
    return { side: vis('.side'), conv: vis('#conv'), back: vis('#back-btn'), link: vis('#conv-link'), root: document.getElementById('chat1c-root').className };
  });
  eq('one conversation: no list, no back button', await layout(),
    { side: false, conv: true, back: false, link: false, root: 'app mode-conv show-main single' });
  const first = await take(page);
  eq('it is asked for at once', asked(first, 'open'), [{ action: 'open', group: 1, after: 0, seq: 'N' }]);
  // FillChat(Group) gives the group, though the user's list would not show it yet.
  eq('not listed yet: titled from FillChat', await text(page, '#conv-topic'), 'Счет 12');
  await bridge(page, 'chatSetTitle', 'Счет 12 ' + D.XSS_IMG);
  eq('chatSetTitle names it (literally)', await text(page, '#conv-topic'), 'Счет 12 ' + D.XSS_IMG);
  const m = D.live(10, 1, Date.now() - D.MIN, D.BORIS, 'Проверьте сумму');
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify([m]), false, ofType(first, 'open')[0].seq);
  eq('its messages show', (await row(page, 10)).text, 'Проверьте сумму');
  await page.type('#input', 'Готово');
  await page.press('#input', 'Enter');
  eq('the input posts into it by id', ofType(await take(page), 'post').map((a) => [a.action, a.group, a.text, a.replyTo]),
    [['post', 1, 'Готово', 0]]);
  await page.click('.msg[data-id="10"] .msg-act');
  await page.click('#menu-reply');
  await page.type('#input', 'Да');
  await page.press('#input', 'Enter');
  eq('a reply too', ofType(await take(page), 'post').map((a) => [a.group, a.text, a.replyTo]), [[1, 'Да', 10]]);
  await dropFiles(page, [{ name: 'акт.pdf', type: 'application/pdf', b64: 'JVBERi0=' }], '#messages');
  await sleep(150);
  eq('a dropped file goes to it', ofType(await take(page), 'file').map((a) => [a.group, a.name]), [[1, 'акт.pdf']]);
  eq('another conversation cannot be opened', await bridge(page, 'chatOpenGroup', 2), false);
  await page.click('#error-close');
  await bridge(page, 'chatSetGroups', JSON.stringify([
    Object.assign(D.liveGroup(1, 'Счет 12 (изменен)', [], 0, 0, m, null), { context: invoice }),
    D.liveGroup(2, 'Другая', [D.ME, D.BORIS], 3, 0, D.live(20, 2, Date.now(), D.BORIS, 'x'), {})]));
  eq('once listed, its own title; the list stays hidden', [await text(page, '#conv-topic'), (await layout()).side], ['Счет 12 (изменен)', false]);
  await setFilter(page, 'Друг');
  await sleep(450);
  eq('and nothing searches', ofType(await take(page), 'search'), []);
  const size = await page.setSize(360, 640);
  eq('narrow: still the conversation alone (' + size.width + 'px)', await layout(),
    { side: false, conv: true, back: false, link: false, root: 'app mode-conv show-main single' });
  await page.screenshot(path.join(ARTIFACTS, 'single-' + engineName + '.png'));
  await page.setSize(1000, 640);
  await noProblems(page, 'single');

  // An ordinary conversation shown alone (FillChat of a private group) also takes text by id.
  const plain = getHtml({
    user: D.ME, lang: 'en', group: 1, seeds: [{ user: D.ME, topic: 'Contract', participants: D.BORIS, text: 'Signed?' }],
    groups: [D.liveGroup(1, 'Contract', [D.ME, D.BORIS], 0, 0, D.live(1, 1, Date.now(), D.ME, 'Signed?'), {})]
  });
  await page.load(plain.html, { width: 1000, height: 640 });
  eq('a private conversation alone: its title and members', [await text(page, '#conv-topic'),
    (await text(page, '#conv-people')).split(', ').sort()], ['Contract', [D.ME, D.BORIS]]);
  await page.type('#input', 'Yes');
  await page.press('#input', 'Enter');
  eq('and the input posts into it by id', ofType(await take(page), 'post').map((a) => [a.group, a.text]), [[1, 'Yes']]);
}

// A short list (GetGroups with a Limit): "more conversations" asks for 50 more once, the
// open conversation stays when a short list leaves it out, filtering a short list asks
// for the whole one, and a list without a limit is whole.
async function phaseGroupsList(page) {
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  await take(page);
  const now = Date.now();
  // Group n's last message has id 10000 - n: group 1 is the newest; every ninth has unread.
  const all = [];
  for (let n = 1; n <= 120; n++) {
    all.push(D.liveGroup(n, 'Topic ' + n, [D.ME, D.BORIS], n % 9 === 1 ? n : 0, 0, D.live(10000 - n, n, now - n * D.MIN, D.BORIS, 'm' + n), {}));
  }
  const more = () => page.eval(function () {
    const n = document.querySelector('#groups .group-more');
    return n ? n.textContent : null;
  });
  eq('a short list: chatSetGroups(json, 50) returns true', await bridge(page, 'chatSetGroups', JSON.stringify(all.slice(0, 50)), 50), true);
  eq('its 50 groups, newest first', (await groupIds(page)).length, 50);
  eq('then "more conversations"', await more(), 'More conversations');
  await page.click('#groups .group-more');
  eq('a click asks for 50 more', ofType(await take(page), 'groups'), [{ action: 'groups', limit: 100 }]);
  eq('while it comes: loading', await more(), 'Loading\u2026');
  await page.click('#groups .group-more');
  eq('a second click asks nothing again', ofType(await take(page), 'groups'), []);
  // An event's list with the old limit (it raced with the request) keeps the request open.
  await bridge(page, 'chatSetGroups', JSON.stringify(all.slice(0, 50)), 50);
  eq('a list of the old size: still loading', await more(), 'Loading\u2026');
  await bridge(page, 'chatSetGroups', JSON.stringify(all.slice(0, 75)), 100);
  eq('75 of at most 100: the whole list, no "more"', [(await groupIds(page)).length, await more()], [75, null]);
  await page.click('.group[data-id="70"]');
  await take(page);
  // Newer activity pushes group 70 out of a short list: it stays open and shown.
  const pushed = all.slice(0, 69).concat(all.slice(70, 100)).concat([all[100]]);
  await bridge(page, 'chatSetGroups', JSON.stringify(pushed), 100);
  eq('the open conversation stays when the list leaves it out', await text(page, '#conv-topic'), 'Topic 70');
  eq('the list is short again: "more"', await more(), 'More conversations');
  await setFilter(page, 'Topic 11');
  eq('filtering a short list asks for the whole list', ofType(await take(page), 'groups'), [{ action: 'groups', limit: 0 }]);
  await setFilter(page, 'Topic 117');
  eq('once', ofType(await take(page), 'groups'), []);
  await bridge(page, 'chatSetGroups', JSON.stringify(all), 0);
  eq('the whole list finds what the short one did not hold', await groupIds(page), [117]);
  const badges = () => page.eval(function () {
    return [].map.call(document.querySelectorAll('#groups .group'), function (g) {
      const b = g.querySelector('.badge:not(.mention)');
      return g.getAttribute('data-id') + ':' + (b ? b.textContent : '');
    }).join(' ');
  });
  await setFilter(page, '');
  eq('a whole list has no "more"', await more(), null);
  const badgesWhole = await badges();
  // Cleared: back to the limit the list had before the search (100), or 1C would reload
  // the whole list on every event until the form closes.
  eq('clearing the filter asks for the short list again', ofType(await take(page), 'groups'), [{ action: 'groups', limit: 100 }]);
  await setFilter(page, 'Topic 2');
  await setFilter(page, '');
  eq('typing and clearing again before it comes asks nothing', ofType(await take(page), 'groups'), []);
  await bridge(page, 'chatSetGroups', JSON.stringify(pushed), 100);
  eq('the short list again, with "more"', [(await groupIds(page)).length, await more()], [100, 'More conversations']);
  eq('the open conversation stays though the short list leaves it out',
    [await text(page, '#conv-topic'), (await groupIds(page)).indexOf(70)], ['Topic 70', -1]);
  eq('unread badges do not change', await badges(), badgesWhole.split(' ').filter((b) => b !== '70:').slice(0, 100).join(' '));
  // Again over the short list, cleared with Esc: one ask each way.
  await setFilter(page, 'Topic 11');
  await page.press('#filter', 'Escape');
  await setFilter(page, '');
  eq('filter then Esc: the whole list, then the short one, once', ofType(await take(page), 'groups'),
    [{ action: 'groups', limit: 0 }, { action: 'groups', limit: 100 }]);
  await bridge(page, 'chatSetGroups', JSON.stringify(all), 0);
  await bridge(page, 'chatSetGroups', JSON.stringify(pushed), 100);
  await page.click('#groups .group-more');
  eq('"more conversations" works again', ofType(await take(page), 'groups'), [{ action: 'groups', limit: 150 }]);
  await bridge(page, 'chatSetGroups', JSON.stringify(all.slice(0, 60)));
  eq('chatSetGroups without a limit: a whole list', [(await groupIds(page)).length, await more()], [60, null]);
  await setFilter(page, 'Topic 5');
  await setFilter(page, '');
  eq('a list that was not short asks nothing when filtered and cleared', ofType(await take(page), 'groups'), []);
  await noProblems(page, 'groups list');
}


// A small, realistic chat for the README screenshot.
async function phaseScreenshot(page) {
  const now = new Date();
  const at = (daysAgo, h, m) => new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysAgo, h, m).getTime();
  const src = getHtml({ user: D.ME, lang: 'en', seeds: [], groups: [] });
  await page.load(src.html, { width: 1000, height: 640 });
  const msgs = [
    D.msg(101, 1, at(1, 16, 2), D.BORIS, 'The draft of the quarterly report is in the shared folder.'),
    D.msg(103, 1, at(1, 16, 20), D.ME, 'Thanks! I will ask logistics for the shipping numbers.'),
    D.msg(104, 1, at(0, 9, 12), D.CLARA, 'Morning! October is final, November is preliminary.\nCurrency table: https://intranet.example.com/fx/2026-11'),
    D.msg(105, 1, at(0, 9, 14), D.BORIS, 'Can we go through the open questions at 14:00?'),
    D.msg(106, 1, at(0, 9, 15), D.ME, 'Works for me. I will book the small meeting room.'),
    D.msg(107, 1, at(0, 9, 16), D.ME, 'And I will bring the printed draft.'),
    D.msg(108, 1, at(0, 9, 31), D.CLARA, 'Great, see you there!')
  ];
  const groups = [
    D.group(1, 'Quarterly report', [D.ME, D.BORIS, D.CLARA], 0, msgs[msgs.length - 1]),
    D.group(2, 'Shipping delays', [D.ME, 'Dmitry Orlov'], 2, D.msg(90, 2, at(0, 8, 47), 'Dmitry Orlov', 'Two trucks are stuck at the border, ETA Friday.')),
    D.group(3, 'Office', [], 5, D.msg(80, 3, at(1, 18, 5), 'Elena Sokolova', 'Coffee machine on the 3rd floor works again')),
    D.group(4, 'Contract #4411', [D.ME, 'Legal'], 0, D.msg(70, 4, at(3, 11, 30), D.ME, 'Sent the signed copy.')),
    D.group(5, 'Price list update', [D.ME, D.BORIS, 'Dmitry Orlov', 'Elena Sokolova'], 0, D.msg(60, 5, at(9, 15, 0), 'Elena Sokolova', 'Done, new prices from the 1st.'))
  ];
  await bridge(page, 'chatSetGroups', JSON.stringify(groups));
  await page.click('.group[data-id="1"]');
  await bridge(page, 'chatPrependMessages', 1, JSON.stringify(msgs), false);
  await page.type('#input', 'Perfect, thank you!');
  await take(page);
  const file = path.join(ARTIFACTS, 'chat-' + engineName + '.png');
  await page.screenshot(file);
  if (engineName === 'chromium') {
    fs.mkdirSync(path.join(REPO, 'docs'), { recursive: true });
    fs.copyFileSync(file, path.join(REPO, 'docs', 'screenshot.png'));
  }
  check('screenshot saved: ' + path.relative(REPO, file), fs.statSync(file).size > 10000);
  await bridge(page, 'chatSetUser', D.ME, 'ru');
  await page.screenshot(path.join(ARTIFACTS, 'chat-ru-' + engineName + '.png'));
  await noProblems(page, 'screenshot');
}

async function runEngine(name) {
  engineName = name;
  let page;
  try {
    page = await engines[name === 'webkitgtk' ? 'webkit' : name]();
  } catch (e) {
    if (name === 'webkitgtk' && process.env.CHAT1C_WEBKIT === 'skip') {
      skipped++;
      console.log('skip ' + name + ': ' + e.message);
      return;
    }
    check('engine starts', false, e.message);
    return;
  }
  console.log('engine: ' + name + ' ' + page.version);
  try {
    for (const phase of [phaseRenderXss, phaseRussian, phaseScenario, phaseOnError, phasePeople, phaseLive, phaseSearch,
      phaseFiles, phaseLinks, phaseSingle, phaseGroupsList, phaseScreenshot]) {
      try {
        await phase(page);
      } catch (e) {
        check(phase.name + ' ran to the end', false, e.stack || String(e));
      }
    }
  } finally {
    await page.close();
  }
}

async function main() {
  const wanted = (process.env.CHAT1C_ENGINES || 'chromium,webkitgtk').split(',').map((s) => s.trim())
    .map((s) => (s === 'webkit' ? 'webkitgtk' : s)).filter(Boolean);
  for (const name of wanted) await runEngine(name);
  for (const t of timings) console.log('timing: ' + t);
  console.log(passed + ' passed, ' + failed + ' failed' + (skipped ? ', ' + skipped + ' skipped' : ''));
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log('FAIL harness: ' + (e.stack || e));
  console.log(passed + ' passed, ' + (failed + 1) + ' failed');
  process.exitCode = 1;
});
