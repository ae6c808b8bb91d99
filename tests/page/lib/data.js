// Test data: people, payloads and message generators shared by the scenario.
'use strict';

const ME = 'Anna Petrova';
const BORIS = 'Boris Ivanov';
const CLARA = 'Clara Smirnova';
const XSS_IMG = '<img src=x onerror=alert(1)>';
const XSS_SCRIPT = '</script><script>window.pwned=1</script>';
const HOUR = 3600 * 1000;
const MIN = 60 * 1000;

function iso(ms) { return new Date(ms).toISOString(); }

function msg(id, group, ms, publisher, text) {
  return { id: id, group: group, period: iso(ms), publisher: publisher, text: text };
}

const LINES = [
  'Morning! The draft of the quarterly report is in the shared folder.',
  'Thanks, looking at it now.',
  'Section 3 needs the updated sales figures from the north region.',
  'I will ask logistics for the shipping numbers too.',
  'Can we meet at 14:00 to go through the open questions?\nI have a slot until 15:30.',
  'Works for me.',
  'Numbers for October are final, November is still preliminary.',
  'Please double-check the currency conversion in table 2.'
];

// `count` messages in group `group`, ids from `firstId`, one every `stepMs` ending at `endMs`.
function series(group, firstId, count, endMs, stepMs, people) {
  const out = [];
  for (let i = 0; i < count; i++) {
    const who = people[(i * 7 + (i >> 2)) % people.length];
    let text = LINES[i % LINES.length];
    if (i % 13 === 0) text += ' (' + (firstId + i) + ')';
    out.push(msg(firstId + i, group, endMs - (count - 1 - i) * stepMs, who, text));
  }
  return out;
}

function group(id, topic, participants, unread, last) {
  return { id: id, topic: topic, participants: participants, unread: unread, last: last };
}

// A message with the fields of live messages (issue 12): rev (= id unless given), edited,
// deleted, reply_to, mentions.
function live(id, group, ms, publisher, text, extra) {
  return Object.assign({
    id: id, group: group, period: iso(ms), publisher: publisher, text: text, rev: id,
    edited: null, deleted: false, reply_to: null, mentions: []
  }, extra || {});
}

// A group with mentions and read marks ("reads": null for a public topic).
function liveGroup(id, topic, participants, unread, mentions, last, reads) {
  return Object.assign(group(id, topic, participants, unread, last), { mentions: mentions, reads: reads });
}

module.exports = { ME, BORIS, CLARA, XSS_IMG, XSS_SCRIPT, HOUR, MIN, iso, msg, series, group, live, liveGroup };
