// The page's script must run in every engine 1C's HTML field may be: Internet Explorer 11
// (Windows before 8.3.14), old WebKitGTK (Linux), 1C's own WebKit. So it is ES5:
//  1. acorn (ecmaVersion 5) parses src/page/chat.js and the inline scripts of chat.html;
//  2. eslint with eslint-plugin-es-x (restrict-to-es5, aggressive: every `.includes(`
//     counts, whatever the receiver) flags built-ins newer than ES5, and core rules catch
//     what the const/let -> var move could break (redeclared or undefined names);
//  3. a short list of DOM API that IE11 lacks must not appear as code.
// Each check is also shown to bite on a snippet that must fail.
'use strict';
const fs = require('fs');
const path = require('path');
const acorn = require('acorn');
const { ESLint } = require('eslint');
const esx = require('eslint-plugin-es-x');

let passed = 0;
let failed = 0;
function check(name, ok, detail) {
  if (ok) { passed++; console.log('ok   ' + name); } else { failed++; console.log('FAIL ' + name + (detail ? ': ' + detail : '')); }
}

function parseError(src) {
  try {
    acorn.parse(src, { ecmaVersion: 5, sourceType: 'script' });
    return null;
  } catch (e) {
    return e;
  }
}

const PAGE = path.join(__dirname, '..', '..', 'src', 'page');
const js = fs.readFileSync(path.join(PAGE, 'chat.js'), 'utf8');
const html = fs.readFileSync(path.join(PAGE, 'chat.html'), 'utf8');
// Inline scripts of the template; the state slot becomes a literal as render() fills it.
const inline = [];
html.replace(/<script>([\s\S]*?)<\/script>/g, function (_, body) {
  if (body.indexOf('{{JS}}') < 0) inline.push(body.replace('{{STATE}}', '{}'));
});
const sources = [['src/page/chat.js', js]].concat(inline.map((s, i) => ['chat.html inline script ' + (i + 1), s]));
check('chat.html has its onerror script before the chat script', inline.length === 1 && /window\.onerror\s*=/.test(inline[0]));

for (const [name, src] of sources) {
  const err = parseError(src);
  check(name + ' parses as ES5', !err, err && (err.message + ' at ' + JSON.stringify(err.loc)));
}

// Browser globals the page may use (no-undef); anything else is a slip. The ES2015+ ones
// are declared too, so that es-x (not no-undef) is what reports their use.
const GLOBALS = {};
for (const g of ['window', 'document', 'setTimeout', 'clearTimeout', 'JSON', 'Date', 'Math', 'Number', 'String',
  'Array', 'Object', 'Error', 'RegExp', 'isFinite', 'isNaN', 'NaN',
  'Promise', 'Map', 'Set', 'WeakMap', 'Symbol', 'Proxy', 'Reflect']) GLOBALS[g] = 'readonly';

const eslint = new ESLint({
  overrideConfigFile: true,
  overrideConfig: [
    esx.configs['flat/restrict-to-es5'],
    {
      languageOptions: { ecmaVersion: 5, sourceType: 'script', globals: GLOBALS },
      settings: { 'es-x': { aggressive: true } },
      rules: { 'no-undef': 'error', 'no-redeclare': 'error', 'no-shadow': 'error', 'no-unused-vars': ['error', { caughtErrors: 'none' }] }
    }
  ]
});

async function lint(src) {
  const [r] = await eslint.lintText(src);
  return r.messages.map((m) => (m.ruleId || 'parse') + ' ' + m.line + ':' + m.column + ' ' + m.message);
}

// DOM API that IE11 does not have; a use needs a guarded fallback, so plain calls fail here.
const NOT_IN_IE11 = ['closest', 'append', 'prepend', 'replaceWith', 'fetch', 'requestIdleCallback',
  'IntersectionObserver', 'ResizeObserver', 'MutationObserver', 'CustomEvent', 'scrollIntoViewIfNeeded',
  'toggleAttribute', 'remove'];
function domProblems(src) {
  const out = [];
  for (const tok of acorn.tokenizer(src, { ecmaVersion: 5 })) {
    if (tok.type === acorn.tokTypes.name && NOT_IN_IE11.indexOf(tok.value) >= 0) out.push(tok.value + ' at ' + tok.start);
  }
  return out;
}

async function main() {
  for (const [name, src] of sources) {
    const problems = await lint(src);
    check(name + ': eslint es-x (ES5 built-ins only) and core rules clean', problems.length === 0, problems.join('; '));
    const dom = domProblems(src);
    check(name + ': no DOM API missing from IE11', dom.length === 0, dom.join(', '));
  }

  // The checks bite: newer syntax must not parse...
  for (const [what, snippet] of [
    ['let', 'let a = 1;'], ['const', 'const a = 1;'], ['arrow function', 'var f = x => x;'],
    ['template string', 'var s = `a${1}`;'], ['class', 'class A {}'], ['destructuring', 'var { a } = {};'],
    ['spread', 'f(...[1]);'], ['for...of', 'for (var x of []) {}'], ['default parameter', 'function f(a = 1) {}'],
    ['shorthand method', 'var o = { m() {} };'], ['regex lookbehind', 'var r = /(?<=a)b/;'],
    ['optional chaining', 'var a = {}; a?.b;'], ['async function', 'async function f() {}']
  ]) {
    check('ES5 parser rejects ' + what, parseError(snippet) !== null);
  }
  check('ES5 parser accepts ES5 (function, var, regexp, JSON)', parseError('var f = function (a) { return /x/.test(a) && JSON.stringify([a]); };') === null);
  // ...newer built-ins must be flagged even on a receiver of unknown type...
  for (const [what, snippet] of [
    ['Array.prototype.includes', 'var a = [1]; a.includes(1);'], ['Object.assign', 'Object.assign({}, {});'],
    ['Promise', 'new Promise(function () {});'], ['String.prototype.startsWith', 'var s = "a"; s.startsWith("a");'],
    ['Array.from', 'Array.from("ab");'], ['Array.prototype.find', 'var a = []; a.find(function () { return true; });'],
    ['Number.isFinite', 'Number.isFinite(1);'], ['Map', 'new Map();'], ['String.prototype.repeat', 'var s = "a"; s.repeat(2);']
  ]) {
    const problems = await lint(snippet);
    check('linter flags ' + what, problems.some((p) => p.indexOf('es-x/') === 0), problems.join('; ') || 'nothing reported');
  }
  const clean = await lint('var a = [1, 2]; a.indexOf(1); a.forEach(function (x) { return x; }); JSON.parse("1"); Object.keys({});');
  check('linter passes ES5 built-ins (indexOf, forEach, JSON, Object.keys)', clean.length === 0, clean.join('; '));
  check('core rules catch a redeclared var', (await lint('var a = 1; var a = 2; a = a + 1;')).some((p) => p.indexOf('no-redeclare') === 0));
  check('the IE11 DOM check catches closest()', domProblems('var n = document.body; n.closest("a");').length === 1);

  console.log(passed + ' passed, ' + failed + ' failed');
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.log('FAIL es5 check harness: ' + (e.stack || e));
  console.log(passed + ' passed, ' + (failed + 1) + ' failed');
  process.exitCode = 1;
});
