// Tipline's source pages in Debian's Chromium with JavaScript off, against
// the real tipd and PostgreSQL that test_browser.c started. One browser
// launch; every page in English, Arabic (right-to-left) and Spanish is
// loaded, weighed, screenshotted and checked with axe-core; reports go in
// with attachments, an investigator answers with tipctl, the source reads
// the answer and writes back with a file, and every bad input gets a page in its
// language. Then, at 360 px, at 200 % zoom and at both, no page scrolls
// sideways and every control is on screen; with the keyboard alone, Tab
// reaches every field and button with a visible focus, a report is sent and
// the inbox opened (each check first proves it sees a planted fault).
// Prints one JSON line of results; exits non-zero on a failure.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import assert from 'node:assert/strict';

const env = process.env;
const BASE = env.TIPLINE_URL;            // http://127.0.0.1:PORT (onion-side listener)
const TLS_BASE = env.TIPLINE_TLS_URL;    // https://127.0.0.1:PORT (clearnet TLS listener)
const OUT = env.TIPLINE_ARTIFACTS;       // screenshots and weights go here
const WORK = env.TIPLINE_WORK;           // scratch files
const TTL_MS = Number(env.TIPLINE_FORM_TTL_S) * 1000;
const MAX_BODY = Number(env.TIPLINE_MAX_BODY_MB) * 1024 * 1024;
const LANGS = ['en', 'ar', 'es'];
const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const results = { weights: {}, screenshots: [], axe: {}, checks: [] };
fs.mkdirSync(OUT, { recursive: true });

function tipctl(...args) {
  return execFileSync(env.TIPCTL, [...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
// Skip Playwright's actionability waits (about 1 s each with JavaScript off).
const F = { force: true };
const T0 = Date.now();
function check(name) { results.checks.push(`${name} (${Date.now() - T0} ms)`); }

const browser = await chromium.launch({
  executablePath: env.TIPLINE_CHROMIUM || '/usr/lib/chromium/chromium',
  args: ['--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost'],
  env: { ...env, XDG_CONFIG_HOME: WORK, HOME: WORK },
});
// The source: JavaScript off, a small phone screen. axe runs in a second
// context with JavaScript on that is given the very same HTML.
const src = await browser.newContext({ javaScriptEnabled: false, ignoreHTTPSErrors: true,
                                       viewport: { width: 360, height: 740 } });
const axeCtx = await browser.newContext({ javaScriptEnabled: true, ignoreHTTPSErrors: true });
const page = await src.newPage();
const axePage = await axeCtx.newPage();

// Run axe on `html` as if served at `url`; fail on serious or critical findings.
async function axe(name, url, html) {
  await axePage.route(url, r => r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  await axePage.goto(url);
  await axePage.unroute(url);
  await axePage.evaluate(AXE);
  const v = await Promise.race([
    axePage.evaluate(() => axe.run(document, { resultTypes: ['violations'] })),
    new Promise((_, no) => setTimeout(() => no(new Error('axe timed out')), 20000)),
  ]);
  const bad = v.violations.filter(x => x.impact === 'serious' || x.impact === 'critical');
  results.axe[name] = v.violations.map(x => `${x.id}:${x.impact}`);
  assert.equal(bad.length, 0, `${name}: ${bad.map(x => `${x.id} (${x.impact}): ${x.help} ${x.nodes.map(n => n.target).join(' ')}`).join('; ')}`);
}

// Look at the page now shown: language, direction, no script, weight,
// screenshot, axe.
async function inspect(name, lang, status, resp) {
  assert.equal(await page.getAttribute('html', 'lang'), lang, name);
  assert.equal(await page.getAttribute('html', 'dir'), lang === 'ar' ? 'rtl' : 'ltr', name);
  assert.equal(await page.locator('script, svg, iframe').count(), 0, name);
  if (status !== undefined && resp) assert.equal(resp.status(), status, name);
  const html = await page.content();
  const body = resp ? (await resp.body()).length : Buffer.byteLength(html);
  results.weights[name] = body;
  assert.ok(body < 30 * 1024, `${name} weighs ${body} bytes`);
  // The language menu names each language in its own words.
  assert.ok(await page.locator('nav.langs a[hreflang=ar]', { hasText: 'العربية' }).count() === 1, name);
  const shot = path.join(OUT, `${name}.png`);
  await page.screenshot({ path: shot, fullPage: true });
  results.screenshots.push(shot);
  await axe(name, page.url(), html);
}

async function submitForm() {
  const [resp] = await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]', F)]);
  return resp;
}

async function fillReport(text, file) {
  await page.fill('[name=what_happened]', text, F);
  await page.check('#q-exploitation-labour', F);
  await page.check('#q-exploitation-debt_bondage', F);
  await page.fill('[name=where]', 'A farm near the river', F);
  await page.check('#q-affected_person-me', F);
  await page.check('#q-safe_now-not_sure', F);
  if (file) await page.setInputFiles('#q-file', file);
 
}

// ---- an old form, kept to be sent once its token has expired ----
const stale = await src.newPage();
await stale.goto(`${BASE}/es/report`);
const staleSince = Date.now();

// ---- every page in three languages ----
for (const lang of LANGS) {
  for (const [p, name] of [['/', 'landing'], ['/report', 'report'], ['/inbox', 'inbox-login']]) {
    const resp = await page.goto(`${BASE}/${lang}${p}`);
    await inspect(`${lang}-${name}`, lang, 200, resp);
  }
}
const css = await page.goto(`${BASE}/static/tipline.css`);
results.weights['tipline.css'] = (await css.body()).length;
check('pages in en, ar, es: lang, dir, weight, axe, screenshots');

// ---- reports in English and Arabic, each with an attachment ----
const photo = path.join(WORK, 'photo.jpg');
fs.writeFileSync(photo, Buffer.from('not really a photo ' + 'x'.repeat(5000)));
const receipts = {};
for (const lang of ['en', 'ar']) {
  await page.goto(`${BASE}/${lang}/report`);
  await fillReport(lang === 'en' ? 'They took our passports. CANARY-EN' : 'أخذوا جوازات سفرنا. CANARY-AR', photo);
  const resp = await submitForm();
  await inspect(`${lang}-receipt`, lang, 200, resp);
  const r = (await page.textContent('#receipt')).trim();
  assert.match(r, /^\d{5}(-\d{5}){5}$/);
  assert.equal(await page.getAttribute('#receipt', 'dir'), 'ltr');
  receipts[lang] = r;
}
check('reports in en and ar with attachments; receipts read off the page');

// ---- bad input: a missing required answer (Spanish) ----
// The browser itself stops a form with an empty `required` field; take
// that away (as an older browser would not have it) to see tipd's answer.
let resp;
await page.goto(`${BASE}/es/report`);
{
  const html = await page.content();
  await page.route(`${BASE}/es/report`, async r => {
    if (r.request().method() === 'GET')
      return r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html.replace(/ required/g, '') });
    return r.continue();
  });
  await page.goto(`${BASE}/es/report`);
  await page.unroute(`${BASE}/es/report`);
  await page.fill('[name=what_happened]', 'Sin respuesta <b>marcada</b>', F);
  resp = await submitForm();
  await inspect('es-report-errors', 'es', 422, resp);
  assert.equal(await page.inputValue('[name=what_happened]'), 'Sin respuesta <b>marcada</b>');
  assert.ok(await page.locator('#e-affected_person').isVisible());
  assert.ok(await page.locator('#e-safe_now').isVisible());
}
check('missing answers: the form again in es, answers kept, each problem named');

// ---- bad input: a wrong receipt (Arabic) ----
await page.goto(`${BASE}/ar/inbox`);
await page.fill('#receipt', '12345-12345-12345-12345-12345-12345', F);
resp = await submitForm();
await inspect('ar-inbox-not-found', 'ar', 404, resp);
check('wrong receipt: a page in ar');

// ---- bad input: an oversized file, over plain HTTP and over TLS ----
const big = path.join(WORK, 'big.bin');
fs.writeFileSync(big, Buffer.alloc(MAX_BODY + 3 * 1024 * 1024, 7));
for (const [base, name] of [[BASE, 'es-too-large'], [TLS_BASE, 'es-too-large-tls']]) {
  await page.goto(`${base}/es/report`);
  await fillReport('Archivo grande', big);
  resp = await submitForm();
  await inspect(name, 'es', 413, resp);
}
check('oversized file: a 413 page in es over HTTP and TLS, not a reset');

// ---- bad input: a cross-site post with a genuine token ----
{
  await page.goto(`${BASE}/en/report`);
  const token = await page.getAttribute('input[name=token]', 'value');
  const evil = 'http://evil.test/';
  const form = `<!doctype html><html lang="en"><title>x</title><form method="post" enctype="multipart/form-data" action="${BASE}/en/report">` +
    `<input name="token" value="${token}"><input name="what_happened" value="forged"><input name="exploitation" value="labour">` +
    `<input name="affected_person" value="me"><input name="safe_now" value="no"><button>go</button></form></html>`;
  await page.route(evil, r => r.fulfill({ status: 200, contentType: 'text/html', body: form }));
  await page.goto(evil);
  const [r2] = await Promise.all([page.waitForNavigation(), page.click('button', F)]);
  await page.unroute(evil);
  await inspect('en-cross-site', 'en', 403, r2);
}
check('cross-site post: refused with a page');

// ---- the investigator answers; the source reads and writes back ----
const list = JSON.parse(tipctl('tips', 'list', '--json'));
const reports = Array.isArray(list) ? list : list.reports;
assert.equal(reports.length, 2, JSON.stringify(list));
const reportIds = {};
for (const r of reports) {
  const doc = JSON.parse(tipctl('tips', 'show', r.id, '--json', '--identity', env.TIPLINE_IDENTITY, '--passphrase-file', env.TIPLINE_PASSFILE));
  reportIds[doc.language] = r.id;
  const files = path.join(WORK, `files-${doc.language}`);
  fs.mkdirSync(files, { mode: 0o700 });
  tipctl('tips', 'get', r.id, '--out', files, '--identity', env.TIPLINE_IDENTITY, '--passphrase-file', env.TIPLINE_PASSFILE);
  assert.equal(fs.readdirSync(files).length, 1);
}
assert.ok(reportIds.en && reportIds.ar, JSON.stringify(reportIds));
const replyEn = path.join(WORK, 'reply-en.txt');
fs.writeFileSync(replyEn, 'We read your report. Are you safe? <b>not bold</b>');
tipctl('tips', 'reply', reportIds.en, '--file', replyEn, '--yes', '--identity', env.TIPLINE_IDENTITY, '--passphrase-file', env.TIPLINE_PASSFILE);
const replyAr = path.join(WORK, 'reply-ar.txt');
fs.writeFileSync(replyAr, 'قرأنا بلاغك. هل أنت بأمان؟');
tipctl('tips', 'reply', reportIds.ar, '--file', replyAr, '--yes', '--identity', env.TIPLINE_IDENTITY, '--passphrase-file', env.TIPLINE_PASSFILE);

// English: the receipt with spaces instead of hyphens
await page.goto(`${BASE}/en/inbox`);
await page.fill('#receipt', receipts.en.replaceAll('-', ' '), F);
resp = await submitForm();
await inspect('en-inbox', 'en', 200, resp);
assert.equal((await page.textContent('.reply .text')).trim(), 'We read your report. Are you safe? <b>not bold</b>');
// Open it again before writing: inspecting (axe, screenshot) can outlast the
// short form lifetime this suite runs with on a busy machine.
await page.goto(`${BASE}/en/inbox`);
await page.fill('#receipt', receipts.en, F);
await submitForm();
await page.fill('#message', 'More: the boss is called CANARY-FOLLOWUP.', F);
const ledger = path.join(WORK, 'ledger.txt');
fs.writeFileSync(ledger, 'Wages withheld, March to May. CANARY-FOLLOWUP-FILE\n');
await page.setInputFiles('#msg-file', ledger);
resp = await submitForm();
await inspect('en-inbox-sent', 'en', 200, resp);
// Arabic: the receipt in Arabic-Indic digits
const arabic = receipts.ar.replace(/\d/g, d => String.fromCharCode(0x660 + Number(d)));
await page.goto(`${BASE}/ar/inbox`);
await page.fill('#receipt', arabic, F);
resp = await submitForm();
await inspect('ar-inbox', 'ar', 200, resp);
assert.equal((await page.textContent('.reply .text')).trim(), 'قرأنا بلاغك. هل أنت بأمان؟');
check('replies read in en and ar; receipt normalized; follow-up sent');

// the investigator decrypts the follow-up
let found = false;
for (let i = 0; i < 50 && !found; i++) {
  const dir = path.join(WORK, `export-${i}`);
  fs.mkdirSync(dir, { mode: 0o700 });
  tipctl('tips', 'export', reportIds.en, '--out', dir, '--identity', env.TIPLINE_IDENTITY, '--passphrase-file', env.TIPLINE_PASSFILE);
  const mdir = path.join(dir, reportIds.en, 'messages');
  found = fs.existsSync(mdir) && fs.readdirSync(mdir).some(f => fs.readFileSync(path.join(mdir, f), 'utf8').includes('CANARY-FOLLOWUP'));
  if (!found) await new Promise(r => setTimeout(r, 200));
}
assert.ok(found, 'the follow-up did not reach the investigator');
// its file: saved by tipctl with the report's, checked against the signed message
const filesEn = path.join(WORK, 'files-en-after');
fs.mkdirSync(filesEn, { mode: 0o700 });
tipctl('tips', 'get', reportIds.en, '--out', filesEn, '--identity', env.TIPLINE_IDENTITY, '--passphrase-file', env.TIPLINE_PASSFILE);
assert.deepEqual(fs.readdirSync(filesEn).sort(), ['ledger.txt', 'photo.jpg']);
assert.equal(fs.readFileSync(path.join(filesEn, 'ledger.txt'), 'utf8'), fs.readFileSync(ledger, 'utf8'));
check('investigator decrypts the follow-up and its file with tipctl');

// ---- forget (English), then the receipt no longer opens ----
await page.goto(`${BASE}/en/inbox`);
await page.fill('#receipt', receipts.en, F);
resp = await submitForm();
// the follow-up, now with the team, is listed as the source's own (day only)
await inspect('en-inbox-mine', 'en', 200, resp);
assert.equal(await page.locator('article.mine').count(), 1);
assert.equal(await page.locator('main .notice').count(), 0, 'a notice on the freshly opened inbox');
assert.match(await page.textContent('article.mine'), /^\s*You sent a message on \d{4}-\d{2}-\d{2}\. Only the team can read it\.\s*$/);
assert.equal((await page.content()).includes('CANARY-FOLLOWUP'), false);
await page.goto(`${BASE}/en/inbox`);
await page.fill('#receipt', receipts.en, F);
await submitForm();
[resp] = await Promise.all([page.waitForNavigation(), page.click('section.danger button', F)]);
await inspect('en-forgotten', 'en', 200, resp);
const cookies = await src.cookies();
assert.equal(cookies.filter(c => c.name === 'tl_inbox' && c.value !== '').length, 0, 'cookie not cleared');
await page.goto(`${BASE}/en/inbox`);
await page.fill('#receipt', receipts.en, F);
resp = await submitForm();
assert.equal(resp.status(), 404);
check('forget: warning, cookie cleared, receipt closed');

// ---- small screens and zoom: no sideways scrolling, every control on screen ----
// A 360 px phone; a 1280 px window at 200 % zoom (640 CSS px, drawn at 2x);
// the 360 px phone at 200 % (180 CSS px). Layout is measured in the page
// (JavaScript off still runs page.evaluate's synchronous code).
function layoutProblems() {
  const w = document.documentElement.clientWidth;
  const out = [];
  if (document.documentElement.scrollWidth > w + 1)
    out.push(`scrolls sideways: ${document.documentElement.scrollWidth} px in ${w}`);
  for (const e of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    const r = e.getBoundingClientRect();
    const what = e.outerHTML.slice(0, 90);
    if (r.width < 1 || r.height < 1) out.push(`not shown: ${what}`);
    else if (r.left < -1 || r.right > w + 1) out.push(`cut off (${Math.round(r.left)}..${Math.round(r.right)} of ${w}): ${what}`);
  }
  return out;
}
const layouts = [['360px', 360, 740, 1], ['zoom200', 640, 400, 2], ['360px-zoom200', 180, 370, 2]];
const inboxHtml = {};
{
  // pages that answer a post, kept as HTML: the inbox with a reply (ar), a
  // receipt (en), the form with its problems (es)
  await page.goto(`${BASE}/ar/inbox`);
  await page.fill('#receipt', receipts.ar, F);
  await submitForm();
  inboxHtml['ar-inbox'] = await page.content();
  await page.goto(`${BASE}/en/report`);
  await fillReport('Layout check', null);
  await submitForm();
  inboxHtml['en-receipt'] = await page.content();
}
{
  // Positive controls: each check sees a planted fault (a field wider than
  // the screen; focus drawn with no outline).
  const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
  const p = await ctx.newPage();
  const url = `${BASE}/planted`;
  const html = inboxHtml['en-receipt']
    .replace('</main>', '<p><input type="text" name="wide" style="width:600px"></p></main>')
    .replace('</head>', '<style>:focus-visible { outline: none }</style></head>');
  await p.route(url, r => r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
  await p.goto(url);
  const found = await p.evaluate(layoutProblems);
  assert.ok(found.some(x => x.startsWith('scrolls sideways')) && found.some(x => x.includes('name="wide"')), `planted: ${found}`);
  await p.keyboard.press('Tab');
  const f = await p.evaluate(focused);
  assert.ok(f && !f.visible, `planted: focus without an outline passed as visible: ${JSON.stringify(f)}`);
  await ctx.close();
}
for (const [lname, width, height, scale] of layouts) {
  const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width, height }, deviceScaleFactor: scale });
  const p = await ctx.newPage();
  const bad = [];
  for (const lang of LANGS)
    for (const pth of ['/', '/report', '/inbox']) {
      await p.goto(`${BASE}/${lang}${pth}`);
      for (const x of await p.evaluate(layoutProblems)) bad.push(`${lang}${pth}: ${x}`);
    }
  for (const [name, html] of Object.entries(inboxHtml)) {
    const url = `${BASE}/layout-${name}`;
    await p.route(url, r => r.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html }));
    await p.goto(url);
    for (const x of await p.evaluate(layoutProblems)) bad.push(`${name}: ${x}`);
    if (lname === 'zoom200') {
      const shot = path.join(OUT, `${name}-${lname}.png`);
      await p.screenshot({ path: shot, fullPage: true });
      results.screenshots.push(shot);
    }
  }
  assert.deepEqual(bad, [], `${lname} (${width} CSS px): ${bad.join('\n')}`);
  await ctx.close();
}
check('360 px, 200 % zoom and both: no sideways scrolling, every control on screen (en, ar, es)');

// ---- keyboard only: Tab reaches every field and the button, focus shows ----
// Each focused element is read in the page; a report is then filled and
// sent with the keyboard alone, and the inbox opened the same way.
function focused() {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  return { tag: e.tagName, type: e.type || '', name: e.getAttribute('name') || '', id: e.id,
           inForm: !!e.closest('main form'), text: (e.textContent || '').trim().slice(0, 40),
           visible: e.matches(':focus-visible') && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 };
}
function formFields() {
  return [...new Set([...document.querySelectorAll('main form [name]:not([type=hidden])')].map(e => e.getAttribute('name')))];
}
async function tabThrough(p, act) {
  const seen = [];
  for (let i = 0; i < 150; i++) {
    await p.keyboard.press('Tab');
    const f = await p.evaluate(focused);
    if (!f) continue;
    seen.push(f);
    assert.ok(f.visible, `no visible focus on ${JSON.stringify(f)}`);
    if (act) await act(f);
    if (f.tag === 'BUTTON' && f.inForm && f.type === 'submit' && !act) return seen;
    if (f.tag === 'BUTTON' && f.inForm && f.type === 'submit' && act) return seen;
  }
  assert.fail(`Tab never reached the form's button: ${JSON.stringify(seen.map(x => x.name || x.tag))}`);
}
{
  const kb = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 360, height: 740 } });
  const kp = await kb.newPage();
  for (const lang of ['en', 'ar']) {
    await kp.goto(`${BASE}/${lang}/report`);
    const want = await kp.evaluate(formFields);
    const seen = await tabThrough(kp, null);
    const names = new Set(seen.map(f => f.name));
    assert.deepEqual(want.filter(n => !names.has(n)), [], `${lang}: Tab skips these fields`);
    assert.ok(seen.some(f => f.text.length > 0 && f.tag === 'A' && !f.inForm), `${lang}: no link before the form`);
  }
  // fill and send the report with the keyboard alone
  await kp.goto(`${BASE}/en/report`);
  const done = new Set();
  let sent = null;
  await tabThrough(kp, async f => {
    if (!f.inForm || done.has(f.name)) return;
    if (f.tag === 'TEXTAREA' && f.name === 'what_happened') { await kp.keyboard.type('Typed with the keyboard only. CANARY-KEYBOARD'); done.add(f.name); }
    else if ((f.type === 'radio' || f.type === 'checkbox') && ['exploitation', 'affected_person', 'safe_now'].includes(f.name)) { await kp.keyboard.press('Space'); done.add(f.name); }
    else if (f.tag === 'BUTTON' && f.type === 'submit') {
      [sent] = await Promise.all([kp.waitForNavigation(), kp.keyboard.press('Enter')]);
    }
  });
  assert.ok(sent, 'the button was never pressed');
  assert.equal(sent.status(), 200, await kp.content());
  const receipt = (await kp.textContent('#receipt')).trim();
  assert.match(receipt, /^\d{5}(-\d{5}){5}$/);
  // the inbox, with the keyboard alone: every control of the inbox page too
  await kp.goto(`${BASE}/en/inbox`);
  let opened = null;
  await tabThrough(kp, async f => {
    if (f.id === 'receipt') await kp.keyboard.type(receipts.ar);
    else if (f.tag === 'BUTTON' && f.inForm) [opened] = await Promise.all([kp.waitForNavigation(), kp.keyboard.press('Enter')]);
  });
  assert.equal(opened.status(), 200);
  const inboxControls = await kp.evaluate(() => [...document.querySelectorAll('main button, main textarea, main input:not([type=hidden])')].map(e => e.id || e.textContent.trim()));
  const reached = [];
  for (let i = 0; i < 150 && reached.length < 400; i++) {
    await kp.keyboard.press('Tab');
    const f = await kp.evaluate(focused);
    if (!f) continue;
    assert.ok(f.visible, `no visible focus on ${JSON.stringify(f)}`);
    reached.push(f.id || f.text);
    if (f.text === inboxControls[inboxControls.length - 1]) break;
  }
  assert.deepEqual(inboxControls.filter(c => !reached.includes(c)), [], 'Tab skips these inbox controls');
  await kb.close();
}
check('keyboard only: every field and button reached with visible focus; a report sent and the inbox opened');

// ---- bad input: the old form, now expired ----
const wait = TTL_MS + 1000 - (Date.now() - staleSince);
if (wait > 0) await new Promise(r => setTimeout(r, wait));
await stale.fill('[name=what_happened]', 'tarde', F);
await stale.check('#q-exploitation-labour', F);
await stale.check('#q-affected_person-me', F);
await stale.check('#q-safe_now-no', F);
const [r3] = await Promise.all([stale.waitForNavigation(), stale.click('main form button[type=submit]', F)]);
assert.equal(r3.status(), 403);
assert.equal(await stale.getAttribute('html', 'lang'), 'es');
await stale.screenshot({ path: path.join(OUT, 'es-expired.png'), fullPage: true });
results.screenshots.push(path.join(OUT, 'es-expired.png'));
check('expired form token: a page in es');

await browser.close();
fs.writeFileSync(path.join(OUT, 'results.json'), JSON.stringify(results, null, 1));
console.log(JSON.stringify(results));
