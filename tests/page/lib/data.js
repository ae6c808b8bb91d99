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

// A real PNG, w x h, one colour: what an inline image must decode to (naturalWidth).
function png(w, h) {
  const zlib = require('zlib');
  const crcTable = [];
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    crcTable.push(c >>> 0);
  }
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([len, body, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = Buffer.alloc(1 + 3 * w);
  for (let x = 0; x < w; x++) row.set([47, 111, 237], 1 + 3 * x);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

// Base64 as 1C's Base64Строка writes it: lines of 76 characters, CR LF between them.
function base64Lines(buf) {
  return buf.toString('base64').replace(/(.{76})(?=.)/g, '$1\r\n');
}

module.exports = { ME, BORIS, CLARA, XSS_IMG, XSS_SCRIPT, HOUR, MIN, iso, msg, series, group, live, liveGroup, png, base64Lines };
