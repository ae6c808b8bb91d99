// The two engines behind one small page interface, so one scenario runs in both:
//   load(html), eval(fn, ...args), click(sel), type(sel, text), press(sel, key),
//   setSize(w, h) -> {width, height}, screenshot(file), problems() -> [string], close()
// Chromium: Debian's /usr/bin/chromium through playwright-core (no downloaded browser).
// WebKitGTK: Debian's WebKitWebDriver + MiniBrowser over plain W3C WebDriver HTTP,
// under an Xvfb we start when there is no DISPLAY.
'use strict';
const fs = require('fs');
const os = require('os');
const net = require('net');
const path = require('path');
const http = require('http');
const { spawn } = require('child_process');

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

function evalSource(fn, args) {
  return '(' + fn.toString() + ').apply(null, ' + JSON.stringify(args) + ')';
}

async function chromium() {
  const pw = require('playwright-core');
  const browser = await pw.chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS
  });
  const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
  let page = null;
  let problems = [];
  const attach = (p) => {
    p.on('console', (m) => { if (m.type() === 'error') problems.push('console.error: ' + m.text()); });
    p.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
    p.on('dialog', (d) => { problems.push('dialog: ' + d.message()); d.dismiss().catch(() => {}); });
    p.on('request', (r) => { if (!/^(about|data):/.test(r.url())) problems.push('network request: ' + r.url()); });
    p.on('popup', (w) => problems.push('popup: ' + w.url()));
  };
  return {
    name: 'chromium',
    version: browser.version(),
    async load(html, size) {
      if (page) await page.close();
      problems = [];
      page = await context.newPage();
      attach(page);
      if (size) await page.setViewportSize(size);
      await page.setContent(html, { waitUntil: 'load' });
    },
    eval(fn) { return page.evaluate(evalSource(fn, [].slice.call(arguments, 1))); },
    click(sel) { return page.click(sel); },
    type(sel, text) { return page.locator(sel).pressSequentially(text); },
    press(sel, key) { return page.press(sel, key); },
    async setSize(w, h) {
      await page.setViewportSize({ width: w, height: h });
      return page.evaluate('({ width: innerWidth, height: innerHeight })');
    },
    screenshot(file) { return page.screenshot({ path: file }); },
    problems() { return Promise.resolve(problems.slice()); },
    close() { return browser.close(); }
  };
}

// ---- WebKitGTK over WebDriver ----

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function request(port, method, url, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request({
      host: '127.0.0.1', port: port, method: method, path: url,
      headers: data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        let v;
        try { v = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch (e) { v = { value: null }; }
        if (res.statusCode >= 400 || (v.value && v.value.error)) {
          reject(new Error(method + ' ' + url + ': ' + (v.value ? v.value.error + ' ' + v.value.message : res.statusCode)));
        } else {
          resolve(v.value);
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(120000, () => req.destroy(new Error('WebDriver timeout: ' + method + ' ' + url)));
    if (data) req.write(data);
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function findMiniBrowser() {
  if (process.env.WEBKIT_MINIBROWSER) return process.env.WEBKIT_MINIBROWSER;
  const libs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib', '/usr/libexec'];
  for (const l of libs) {
    for (const v of ['webkit2gtk-4.1', 'webkit2gtk-4.0', 'webkitgtk-6.0']) {
      const p = path.join(l, v, 'MiniBrowser');
      if (fs.existsSync(p)) return p;
    }
  }
  return null;
}

// Captures what WebDriver cannot report: script errors, console.error, alert().
// Prepended to <head> only in the WebKit run (Chromium listens natively).
const PROBE = '<script>window.__probe={errors:[],alerts:0};' +
  'window.addEventListener("error",function(e){window.__probe.errors.push("error: "+e.message);});' +
  '(function(){var ce=console.error;console.error=function(){window.__probe.errors.push("console.error: "+' +
  '[].slice.call(arguments).join(" "));return ce.apply(console,arguments);};})();' +
  'window.alert=function(m){window.__probe.alerts++;window.__probe.errors.push("alert: "+m);};</script>';

async function webkit() {
  const driverBin = process.env.WEBKIT_WEBDRIVER || '/usr/bin/WebKitWebDriver';
  const mini = findMiniBrowser();
  if (!fs.existsSync(driverBin)) throw new Error('no ' + driverBin + ' (apt-get install webkit2gtk-driver)');
  if (!mini) throw new Error('no MiniBrowser (apt-get install webkit2gtk-driver pulls libwebkit2gtk-4.1-0)');
  const started = [];
  const env = Object.assign({}, process.env);
  if (!env.DISPLAY) {
    let display = null;
    for (let n = 90; n < 110; n++) {
      if (!fs.existsSync('/tmp/.X11-unix/X' + n) && !fs.existsSync('/tmp/.X' + n + '-lock')) { display = n; break; }
    }
    if (display === null) throw new Error('no free X display for Xvfb');
    const x = spawn('Xvfb', [':' + display, '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], { stdio: 'ignore' });
    started.push(x);
    env.DISPLAY = ':' + display;
    for (let i = 0; i < 50 && !fs.existsSync('/tmp/.X11-unix/X' + display); i++) await sleep(100);
  }
  const port = await freePort();
  const log = [];
  const drv = spawn(driverBin, ['--port=' + port], { env: env, stdio: ['ignore', 'pipe', 'pipe'] });
  drv.stdout.on('data', (d) => log.push(String(d)));
  drv.stderr.on('data', (d) => log.push(String(d)));
  started.push(drv);
  const stopAll = () => { for (const p of started.reverse()) { try { p.kill('SIGTERM'); } catch (e) { /* gone */ } } };
  let session;
  try {
    for (let i = 0; i < 50; i++) {
      try { await request(port, 'GET', '/status'); break; } catch (e) { await sleep(100); }
    }
    const s = await request(port, 'POST', '/session', {
      capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { binary: mini, args: ['--automation'] } } }
    });
    session = '/session/' + s.sessionId;
    var version = s.capabilities.browserName + ' ' + s.capabilities.browserVersion;
  } catch (e) {
    stopAll();
    throw new Error(e.message + ' | driver log: ' + log.join('').trim().slice(0, 500));
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chat1c-webkit-'));
  let n = 0;
  const call = (method, url, body) => request(port, method, session + url, body);
  const find = async (sel) => {
    const e = await call('POST', '/element', { using: 'css selector', value: sel });
    return e['element-6066-11e4-a52e-4f735466cecf'];
  };
  const KEYS = { Enter: '\uE007', Shift: '\uE008', Escape: '\uE00C', Tab: '\uE004', ArrowUp: '\uE013', ArrowDown: '\uE015' };
  return {
    name: 'webkitgtk',
    version: version,
    async load(html, size) {
      const file = path.join(tmp, 'page' + (n++) + '.html');
      fs.writeFileSync(file, html.replace('<head>', '<head>' + PROBE));
      if (size) await this.setSize(size.width, size.height);
      await call('POST', '/url', { url: 'file://' + file });
    },
    eval(fn) {
      return call('POST', '/execute/sync', {
        script: 'return (' + fn.toString() + ').apply(null, arguments)', args: [].slice.call(arguments, 1)
      });
    },
    async click(sel) {
      // WebKitWebDriver scrolls only the window: an element hidden by a scrolled box's edge
      // (under the conversation header) would be "intercepted". Playwright scrolls boxes too.
      await this.eval(function (s) { document.querySelector(s).scrollIntoView({ block: 'nearest' }); }, sel);
      try {
        await call('POST', '/element/' + (await find(sel)) + '/click', {});
      } catch (e) {
        throw new Error('click ' + sel + ': ' + e.message);
      }
    },
    async type(sel, text) { await call('POST', '/element/' + (await find(sel)) + '/value', { text: text }); },
    async press(sel, key) {
      await this.eval(function (s) { document.querySelector(s).focus(); }, sel);
      const parts = key.split('+').map((k) => KEYS[k] || k);
      const acts = parts.map((k) => ({ type: 'keyDown', value: k }))
        .concat(parts.slice().reverse().map((k) => ({ type: 'keyUp', value: k })));
      await call('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions: acts }] });
      await call('DELETE', '/actions');
    },
    async setSize(w, h) {
      // The window's outer size; MiniBrowser keeps a minimum width, so report what we got.
      await call('POST', '/window/rect', { width: w, height: h + 40 });
      return this.eval(function () { return { width: innerWidth, height: innerHeight }; });
    },
    async screenshot(file) {
      const b64 = await call('GET', '/screenshot');
      fs.writeFileSync(file, Buffer.from(b64, 'base64'));
    },
    async problems() {
      const p = await this.eval(function () { return window.__probe ? window.__probe.errors : ['probe missing']; });
      return p;
    },
    async close() {
      try { await call('DELETE', ''); } catch (e) { /* session already gone */ }
      stopAll();
    }
  };
}

module.exports = { chromium, webkit, CHROMIUM_ARGS };
