// Parses the shipped chat.js with an ES2015-only parser: 1C's HTML field runs an old
// WebKit (about Safari 11), where one newer token breaks the whole script.
// Also proves the check bites: each newer construct below must be rejected.
'use strict';
const fs = require('fs');
const path = require('path');
const acorn = require('acorn');

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log('ok   ' + name); } else { failed++; console.log('FAIL ' + name + (detail ? ': ' + detail : '')); }
}

function parses(src) {
  try {
    acorn.parse(src, { ecmaVersion: 2015, sourceType: 'script' });
    return null;
  } catch (e) {
    return e;
  }
}

const file = path.join(__dirname, '..', '..', 'src', 'page', 'chat.js');
const src = fs.readFileSync(file, 'utf8');
const err = parses(src);
check('src/page/chat.js parses as ES2015 script', !err, err && (err.message + ' at ' + JSON.stringify(err.loc)));

// Runtime features a syntax check cannot see: look at code tokens only (not comments).
const idents = new Set();
const regexes = [];
if (!err) {
  for (const tok of acorn.tokenizer(src, { ecmaVersion: 2015 })) {
    if (tok.type === acorn.tokTypes.name) idents.add(tok.value);
    if (tok.type === acorn.tokTypes.regexp) regexes.push(tok.value.pattern);
  }
}
for (const name of ['globalThis', 'padStart', 'padEnd', 'entries', 'values', 'replaceAll', 'flat',
  'flatMap', 'fromEntries', 'allSettled', 'matchAll', 'at']) {
  check('chat.js does not use ' + name, !idents.has(name));
}
check('chat.js regexes have no lookbehind or named groups', regexes.every((p) => !/\(\?<[=!A-Za-z]/.test(p)),
  regexes.join(' | '));
check('tokenizer saw the script', idents.size > 50 && regexes.length > 3);

for (const [name, snippet] of [
  ['optional chaining', 'var a = {}; a?.b;'],
  ['nullish coalescing', 'var a = null ?? 1;'],
  ['async/await', 'async function f() { await 1; }'],
  ['class fields', 'class A { x = 1; }'],
  ['exponent operator', 'var a = 2 ** 3;'],
  ['object spread', 'var a = {...{}};'],
  ['trailing comma in call', 'f(1, 2,);'],
  ['optional catch binding', 'try {} catch {}'],
  ['module syntax', 'import x from "y";']
]) {
  check('parser rejects ' + name, parses(snippet) !== null);
}
check('parser accepts ES2015 (arrow, let, class, template)', parses('let f = x => `${x}`; class B { m() {} }') === null);

console.log(passed + ' passed, ' + failed + ' failed');
process.exitCode = failed ? 1 : 0;
