// Where the HTML under test comes from: the real library, never a copy of the files.
// 1. The host CLI (contract.md) driving the built add-in: Open + SendMessage seeds +
//    FillChat. Used when the CLI and libchat1c next to it exist and FillChat answers.
// 2. Fallback: tests/page/render, a tiny binary that compiles the same src/page/mod.rs
//    and calls render(). Printed as a note so nobody mistakes it for path 1.
// CHAT1C_PAGE_SOURCE=cli|render forces one; CHAT1C_HOST_CLI / CHAT1C_LIB point at builds
// (default: the newest libchat1c and chat1c-host under target*/{debug,release}).
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const REPO = path.resolve(__dirname, '..', '..', '..');
const LIBNAME = process.platform === 'darwin' ? 'libchat1c.dylib' :
  process.platform === 'win32' ? 'chat1c.dll' : 'libchat1c.so';

function newest(files) {
  return files.filter((f) => fs.existsSync(f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0] || null;
}

// The newest built add-in wins (a stale one is caught below); CLIs are tried newest
// first, each told which library to load.
function findCli() {
  const dirs = fs.readdirSync(REPO).filter((d) => d === 'target' || d.indexOf('target-') === 0);
  const profiles = [];
  for (const d of dirs) for (const p of ['debug', 'release']) profiles.push(path.join(REPO, d, p));
  const lib = process.env.CHAT1C_LIB || newest(profiles.map((p) => path.join(p, LIBNAME)));
  const clis = process.env.CHAT1C_HOST_CLI ? [process.env.CHAT1C_HOST_CLI] :
    profiles.map((p) => path.join(p, 'chat1c-host')).filter((f) => fs.existsSync(f))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  return { clis: clis, lib: lib };
}

let lastNote = null;
function note(msg) {
  if (msg !== lastNote) console.log('note: ' + msg);
  lastNote = msg;
}

// variant: { user, lang, seeds: [{user, topic, participants, text} | {user, call: [name, ...args]}],
// groups: [...], group: N (FillChat(Group): one conversation only) }
// seeds feed the real store (CLI path); groups are the equivalent GetGroups answer for
// the fallback renderer.
function viaCli(variant) {
  const found = findCli();
  if (!found.clis.length) return { error: 'no chat1c-host CLI under target*/' };
  if (!found.lib) return { error: 'no ' + LIBNAME + ' under target*/' };
  const errors = [];
  for (const cli of found.clis) {
    const got = runCli(cli, found.lib, variant);
    if (got.html) return got;
    errors.push(path.relative(REPO, cli) + ': ' + got.error);
  }
  return { error: errors.join('; ') };
}

function runCli(cli, lib, variant) {
  const store = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chat1c-page-')), 'chat.sqlite');
  const lines = [];
  let openAs = null;
  const open = (user) => {
    if (openAs === user) return;
    if (openAs !== null) lines.push({ cmd: 'call', name: 'Close', args: [] });
    lines.push({ cmd: 'call', name: 'Open', args: [store, user] });
    openAs = user;
  };
  for (const s of variant.seeds || []) {
    open(s.user);
    if (s.call) lines.push({ cmd: 'call', name: s.call[0], args: s.call.slice(1) });
    else lines.push({ cmd: 'call', name: 'SendMessage', args: [s.topic, s.participants, s.text] });
  }
  open(variant.user);
  lines.push({ cmd: 'call', name: 'FillChat', args: variant.group ? [variant.group] : [] });
  const args = ['--lib', lib, '--lang', variant.lang, '-'];
  const r = spawnSync(cli, args, {
    input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n', encoding: 'utf8', timeout: 60000,
    maxBuffer: 64 * 1024 * 1024
  });
  if (r.error) return { error: String(r.error) };
  const out = (r.stdout || '').split('\n').filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l); } catch (e) { return { unparsed: l }; }
  });
  const replies = out.filter((o) => 'ok' in o && !('pumped' in o));
  const failed = replies.find((o) => o.ok === false);
  if (failed) return { error: 'host CLI: ' + failed.error };
  const fill = replies[replies.length - 1];
  if (!fill || typeof fill.value !== 'string' || fill.value.indexOf('<!DOCTYPE html>') !== 0) {
    return { error: 'FillChat gave no document (' + (r.stderr || '').trim().slice(0, 200) + ')' };
  }
  // A library built before the last edit of src/page embeds old assets: not the page under test.
  for (const f of ['chat.js', 'chat.css']) {
    if (fill.value.indexOf(fs.readFileSync(path.join(REPO, 'src', 'page', f), 'utf8')) < 0) {
      return { error: 'the built add-in embeds an older src/page/' + f + ' (rebuild libchat1c)' };
    }
  }
  return {
    html: fill.value,
    source: 'host CLI ' + path.relative(REPO, cli) + ' --lib ' + path.relative(REPO, lib) + ' FillChat'
  };
}

let renderBin = null;
function viaRender(variant) {
  if (!renderBin) {
    const target = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target-page');
    const manifest = path.join(__dirname, '..', 'render', 'Cargo.toml');
    const b = spawnSync('cargo', ['build', '--quiet', '--manifest-path', manifest], {
      encoding: 'utf8', env: Object.assign({}, process.env, { CARGO_TARGET_DIR: target }), timeout: 600000
    });
    if (b.status !== 0) throw new Error('cannot build tests/page/render: ' + (b.stderr || b.error));
    renderBin = path.join(target, 'debug', 'chat1c-page-render');
  }
  const r = spawnSync(renderBin, [], {
    input: JSON.stringify({
      user: variant.user, lang: variant.lang, groups_json: JSON.stringify(variant.groups || []), group: variant.group || null
    }),
    encoding: 'utf8', maxBuffer: 64 * 1024 * 1024
  });
  if (r.status !== 0) throw new Error('render failed: ' + r.stderr);
  return { html: r.stdout, source: 'chat1c::page::render via tests/page/render' };
}

function getHtml(variant) {
  const want = process.env.CHAT1C_PAGE_SOURCE || 'auto';
  if (want !== 'render') {
    const got = viaCli(variant);
    if (got.html) return got;
    if (want === 'cli') throw new Error('CHAT1C_PAGE_SOURCE=cli but ' + got.error);
    note('host CLI path unavailable (' + got.error + '); falling back to chat1c::page::render via tests/page/render');
  }
  return viaRender(variant);
}

module.exports = { getHtml, REPO };
