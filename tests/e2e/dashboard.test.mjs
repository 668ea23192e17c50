// Dashboard (htdocs/) in real headless Chromium (Debian's chromium driven by
// playwright-core) against a private stack loaded with the scenario of
// dashboard-scenario.mjs through signed webhooks. Every expected number is
// computed by the scenario module from its own inputs. Every page records
// its console errors and every request URL: no console error, and no
// request may leave the stack's host (GitHub's avatar host is answered in the
// browser by tests/github-double/avatars.mjs). The stack sends its
// Content-Security-Policy, so a CSP violation is a console error too.
// Screenshots of each view go to $LB_TEST_OUT/dashboard/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as S from './dashboard-scenario.mjs';
import { OUT, startDashboard, stopDashboard } from './dashboard-browser.mjs';
import { AVATAR_ORIGIN, routeAvatars } from '../github-double/avatars.mjs';

let stack;
let browser;
let origin;
const env = {};

before(async () => {
  await startDashboard(env);
  ({ stack, browser, origin } = env);
});

after(() => stopDashboard(env));

// ---- helpers ----

// One browser page serves every test (a new page costs a renderer process).
// Requests to any other origin are recorded and aborted (the test fails on
// them); console errors, page errors and failed requests are recorded per
// visit.
let shared;
async function sharedPage() {
  if (shared) return shared;
  const context = await browser.newContext({
    viewport: { width: 1280, height: 900 }, reducedMotion: 'reduce', acceptDownloads: true, deviceScaleFactor: 1,
  });
  const page = await context.newPage();
  const rec = () => page.rec;
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (new URL(u).origin === origin) return route.continue();
    rec().offsite.push(u);
    return route.abort();
  });
  // registered later, so asked first: GitHub's avatar host, answered here
  page.avatars = await routeAvatars(context);
  page.on('request', (r) => rec().requests.push(r.url()));
  page.on('console', (m) => { if (m.type() === 'error') rec().errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => rec().errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => {
    // Cancelled, not failed: a link turned into a download, a fetch the page
    // aborted because the view changed, a favicon cut short by navigation.
    if (r.failure() && /ERR_ABORTED/.test(r.failure().errorText)) return;
    rec().errors.push(`requestfailed: ${r.url()} ${r.failure() && r.failure().errorText}`);
  });
  shared = page;
  return page;
}

// Load path p in the shared page at the given size, with fresh records.
async function openPage(p = '/', { width = 1280, height = 900 } = {}) {
  const page = await sharedPage();
  page.rec = { errors: [], requests: [], offsite: [] };
  const vp = page.viewportSize();
  if (vp.width !== width || vp.height !== height) await page.setViewportSize({ width, height });
  page.done = async ({ allowErrors } = {}) => {
    const { rec } = page;
    const local = rec.requests.filter((u) => !u.startsWith('data:') && new URL(u).origin !== origin
      && new URL(u).origin !== AVATAR_ORIGIN);
    assert.deepEqual([...rec.offsite, ...local], [], 'requests left the stack\'s host');
    if (allowErrors) {
      const other = rec.errors.filter((e) => !allowErrors.test(e));
      assert.deepEqual(other, [], 'unexpected browser errors');
    } else {
      assert.deepEqual(rec.errors, [], 'browser console errors');
    }
  };
  await page.goto(stack.url + p);
  await settled(page);
  return page;
}

// The view finished loading (ready, empty or error) and nothing is pending.
async function settled(page, { dialog = false } = {}) {
  await page.waitForFunction(() => {
    const v = document.getElementById('view');
    return ['ready', 'empty', 'error'].includes(v.dataset.state) && !v.hasAttribute('aria-busy');
  }, null, { timeout: 15000 });
  if (dialog) {
    await page.waitForFunction(() => {
      const b = document.getElementById('team-dialog-body');
      return document.getElementById('team-dialog').open && ['ready', 'error'].includes(b.dataset.state);
    }, null, { timeout: 15000 });
  }
}

async function shot(page, name, opts = {}) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true, ...opts });
}

const n = (s) => {
  const t = String(s).trim().replace(/,/g, '');
  return t === '—' ? null : Number(t.replace('%', ''));
};

function search(page) {
  return Object.fromEntries(new URL(page.url()).searchParams);
}

async function leaderboardRows(page) {
  return page.$$eval('#leaderboard tbody tr', (trs) => trs.map((tr) => {
    const c = (k) => tr.querySelector(`[data-col="${k}"]`).textContent;
    return {
      slug: tr.dataset.team, rank: c('rank'), name: tr.querySelector('.team-link').textContent,
      members: c('members'), created: c('created'), merged: c('merged'), rejected: c('rejected'),
      open: c('open'), partner_created: c('partner_created'), oss_created: c('oss_created'), points: c('points'),
      labels: [...tr.querySelectorAll('[data-label]')].map((el) => ({
        name: el.dataset.label, count: el.querySelector('.chip__count').textContent,
        bg: getComputedStyle(el).backgroundColor,
      })),
    };
  }));
}

async function totalsRow(page) {
  return page.$eval('#leaderboard tfoot tr', (tr) => Object.fromEntries(
    ['members', 'created', 'merged', 'rejected', 'open', 'partner_created', 'oss_created', 'points']
      .map((k) => [k, tr.querySelector(`[data-col="${k}"]`).textContent])));
}

const NUMS = ['members', 'created', 'merged', 'rejected', 'open', 'partner_created', 'oss_created', 'points'];
const rgb = (hex) => `rgb(${parseInt(hex.slice(0, 2), 16)}, ${parseInt(hex.slice(2, 4), 16)}, ${parseInt(hex.slice(4, 6), 16)})`;

// The table shows exactly the expected leaderboard of bounds b: the active
// teams in rank order with every number, label chips in the label colours,
// the totals row; a team without activity, if listed, shows only zeros.
async function assertLeaderboard(page, b, what) {
  const exp = S.leaderboard(b);
  const rows = await leaderboardRows(page);
  // Teams without activity may be listed (all zeros) or left out; either
  // way the listed teams are ranked by merged, ties by name.
  const idle = rows.filter((x) => exp.idle.includes(x.slug));
  for (const r of idle) {
    for (const k of ['created', 'merged', 'rejected', 'open', 'points']) assert.equal(n(r[k]), 0, `${what}: idle ${r.slug} ${k}`);
  }
  const listed = [...exp.teams, ...S.TEAMS.filter((t) => idle.some((r) => r.slug === t.slug)).map((t) => ({ ...t, merged: 0 }))]
    .sort((x, y) => y.merged - x.merged || x.name.localeCompare(y.name));
  assert.deepEqual(rows.map((r) => r.slug), listed.map((t) => t.slug), `${what}: teams in rank order`);
  for (const t of exp.teams) {
    t.rank = listed.findIndex((x) => x.slug === t.slug) + 1;
  }
  for (const t of exp.teams) {
    const r = rows.find((x) => x.slug === t.slug);
    assert.equal(n(r.rank), t.rank, `${what}: ${t.slug} rank`);
    assert.equal(r.name, t.name, `${what}: ${t.slug} name`);
    for (const k of NUMS) assert.equal(n(r[k]), t[k], `${what}: ${t.slug} ${k}`);
    const labels = Object.entries(t.labels).map(([name, count]) => ({ name, count }))
      .sort((x, y) => x.name.localeCompare(y.name));
    assert.deepEqual(r.labels.map((l) => ({ name: l.name, count: n(l.count) })).sort((x, y) => x.name.localeCompare(y.name)),
      labels, `${what}: ${t.slug} label chips`);
    for (const l of r.labels) {
      const def = Object.values(S.LABELS).find((x) => x.name === l.name);
      assert.equal(l.bg, rgb(def.color), `${what}: chip ${l.name} in the label's colour`);
    }
  }
  const tot = await totalsRow(page);
  for (const k of NUMS) assert.equal(n(tot[k]), exp.totals[k], `${what}: totals ${k}`);
  return exp;
}

// Click something that changes the view, then wait for the new view.
async function act(page, fn, opts) {
  await fn();
  await settled(page, opts);
}

// ---- tests ----

test('partner leaderboard shows the scenario\'s teams and numbers, all time', async () => {
  const page = await openPage('/');
  assert.equal(await page.$eval('#view', (v) => v.dataset.state), 'ready');
  await assertLeaderboard(page, S.bounds('all'), 'all time');
  // Proper table headers: a caption, column headers, and a row header per team.
  assert.ok(await page.$eval('#leaderboard caption', (c) => c.textContent.length > 0));
  assert.equal(await page.$$eval('#leaderboard thead th[scope=col]', (t) => t.length), 10);
  assert.equal(await page.$$eval('#leaderboard tbody th[scope=row]', (t) => t.length),
    await page.$$eval('#leaderboard tbody tr', (t) => t.length));
  assert.equal(await page.$eval('#leaderboard th[aria-sort]', (t) => t.textContent.trim()), 'Merged');
  // Avatars and scripts came from this host only (checked in done()); Chart.js is not needed here.
  await shot(page, 'partners-all-time');
  await page.done();
});

test('switching the period (quarter, month, stepping, custom range, year) changes the numbers', async () => {
  const page = await openPage('/');
  const all = S.leaderboard(S.bounds('all'));

  await act(page, () => page.check('#period-quarter'));
  assert.equal(search(page).period, 'quarter');
  await act(page, () => page.selectOption('#period-select', '2024-Q1'));
  assert.deepEqual(search(page), { period: 'quarter', value: '2024-Q1' });
  const q1 = await assertLeaderboard(page, S.bounds('quarter', '2024-Q1'), '2024-Q1');
  assert.notDeepEqual(q1.totals.merged, all.totals.merged, 'the scenario makes Q1 differ from all time');
  assert.match(await page.textContent('#period-label'), /Q1 2024/);
  await shot(page, 'partners-2024-Q1');

  // Month keeps looking at the same time: Q1 -> January.
  await act(page, () => page.check('#period-month'));
  assert.deepEqual(search(page), { period: 'month', value: '2024-01' });
  assert.deepEqual(await page.$$eval('#period-select option', (o) => o.map((x) => x.value)),
    S.periods(new Date()).months, 'the month picker lists /api/periods');
  await assertLeaderboard(page, S.bounds('month', '2024-01'), '2024-01');
  await act(page, () => page.click('#period-newer'));
  assert.deepEqual(search(page), { period: 'month', value: '2024-02' });
  await assertLeaderboard(page, S.bounds('month', '2024-02'), '2024-02');

  // Custom range starts from the month shown, then takes the picked dates.
  await act(page, () => page.check('#period-range'));
  assert.deepEqual(search(page), { period: 'range', from: '2024-02-01', to: '2024-02-29' });
  await page.fill('#period-from', '2024-01-15');
  await page.fill('#period-to', '2024-04-05');
  await act(page, () => page.click('#period-apply'));
  assert.deepEqual(search(page), { period: 'range', from: '2024-01-15', to: '2024-04-05' });
  await assertLeaderboard(page, { from: '2024-01-15', to: '2024-04-05' }, 'range');

  await act(page, () => page.check('#period-year'));
  assert.deepEqual(search(page), { period: 'year', value: '2024' });
  await assertLeaderboard(page, S.bounds('year', '2024'), '2024');
  const years = await page.$$eval('#period-select option', (o) => o.map((x) => x.value));
  assert.deepEqual(years, S.periods(new Date()).years, 'the picker lists /api/periods, newest first');
  await act(page, () => page.selectOption('#period-select', '2023'));
  await assertLeaderboard(page, S.bounds('year', '2023'), '2023');

  await act(page, () => page.check('#period-all'));
  assert.deepEqual(search(page), {});
  await assertLeaderboard(page, S.bounds('all'), 'all again');
  await page.done();
});

test('columns sort on click and by keyboard; the sort is in the URL', async () => {
  const page = await openPage('/?period=quarter&value=2024-Q1');
  const exp = S.leaderboard(S.bounds('quarter', '2024-Q1')).teams;
  const slugs = async () => (await leaderboardRows(page)).map((r) => r.slug);

  await act(page, () => page.click('[data-sort="points"]'));
  assert.equal(search(page).sort, 'points');
  assert.deepEqual(await slugs(), [...exp].sort((a, b) => b.points - a.points || a.name.localeCompare(b.name)).map((t) => t.slug));
  assert.equal(await page.$eval('th[aria-sort]', (t) => t.getAttribute('aria-sort')), 'descending');

  await page.focus('[data-sort="name"]');
  await act(page, () => page.keyboard.press('Enter'));
  assert.deepEqual(search(page), { period: 'quarter', value: '2024-Q1', sort: 'name', dir: 'asc' });
  assert.deepEqual(await slugs(), [...exp].sort((a, b) => a.name.localeCompare(b.name)).map((t) => t.slug));
  // Focus stays on the header just used, so a second Enter reverses.
  await act(page, () => page.keyboard.press('Enter'));
  assert.equal(search(page).dir, 'desc');
  assert.deepEqual(await slugs(), [...exp].sort((a, b) => b.name.localeCompare(a.name)).map((t) => t.slug));
  await page.done();
});

test('team drill-down opens with the expected members and per-repo GitHub links; Esc closes it', async () => {
  const page = await openPage('/');
  const slug = 'globex';
  await act(page, () => page.click(`.team-link[data-team="${slug}"]`), { dialog: true });
  assert.equal(search(page).team, slug);
  assert.equal(await page.textContent('#team-dialog-title'), S.TEAMS.find((t) => t.slug === slug).name);

  const exp = S.teamMembers(slug, S.bounds('all'));
  const shown = await page.$$eval('#team-members > li', (lis) => lis.map((li) => ({
    login: li.dataset.login,
    avatar: li.querySelector('img.avatar').getAttribute('src'),
    created: li.querySelector('.member__stats [data-col="created"]').textContent,
    merged: li.querySelector('.member__stats [data-col="merged"]').textContent,
    rejected: li.querySelector('.member__stats [data-col="rejected"]').textContent,
    repos: [...li.querySelectorAll('tbody tr')].map((tr) => ({
      repo: tr.dataset.repo,
      cells: ['created', 'merged', 'rejected'].map((k) => {
        const td = tr.querySelector(`[data-col="${k}"]`);
        const a = td.querySelector('a');
        return { k, v: td.textContent, href: a ? a.href : null };
      }),
    })),
  })));
  assert.deepEqual(shown.map((m) => m.login).sort(), exp.map((m) => m.login).sort(), 'members');
  for (const m of exp) {
    const s = shown.find((x) => x.login === m.login);
    assert.equal(s.avatar, S.shownAvatar(S.USERS[m.login]), `${m.login}: the GitHub avatar from the API`);
    for (const k of ['created', 'merged', 'rejected']) assert.equal(n(s[k]), m[k], `${m.login} ${k}`);
    const repos = Object.fromEntries(s.repos.filter((r) => r.cells.some((c) => n(c.v) > 0))
      .map((r) => [r.repo, Object.fromEntries(r.cells.map((c) => [c.k, n(c.v)]))]));
    assert.deepEqual(repos, m.repos, `${m.login} per-repo counts`);
    for (const r of s.repos) {
      for (const c of r.cells.filter((x) => n(x.v) > 0)) {
        assert.ok(c.href && c.href.startsWith('https://github.com/'), `${m.login} ${r.repo} ${c.k} links to a GitHub search`);
        assert.ok(decodeURIComponent(c.href).includes(m.login), `${c.href} names the member`);
      }
    }
  }
  // the images came from GitHub's avatar host (its double), and loaded
  await page.waitForFunction(() => [...document.querySelectorAll('#team-members img.avatar')]
    .every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 10000 });
  for (const m of exp) assert.ok(page.avatars.includes(S.shownAvatar(S.USERS[m.login])), `${m.login} avatar fetched`);
  await shot(page, 'team-drilldown', { fullPage: false });

  // Esc closes, the URL forgets the team, focus returns to the team link.
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.getElementById('team-dialog').open);
  // the dialog closes first, then the history entry is replaced: wait for the URL
  await page.waitForURL((u) => !u.searchParams.has('team'), { timeout: 5000 });
  assert.equal(search(page).team, undefined);
  assert.equal(await page.evaluate(() => document.activeElement.dataset.team), slug);
  // Enter on the focused link opens it again; Back closes it (history).
  await act(page, () => page.keyboard.press('Enter'), { dialog: true });
  assert.equal(search(page).team, slug);
  await page.goBack();
  await page.waitForFunction(() => !document.getElementById('team-dialog').open);
  await page.done();
});

test('a team slug with blanks, +, #, ?, &, %, / and non-ASCII opens its drill-down and filters the views', async () => {
  const slug = S.ODD_SLUG;
  const team = S.TEAMS.find((t) => t.slug === slug);
  const sel = `.team-link[data-team="${slug}"]`;
  const page = await openPage('/');
  assert.ok(S.leaderboard(S.bounds('all')).teams.some((t) => t.slug === slug), 'the scenario ranks it');
  await act(page, () => page.click(sel), { dialog: true });
  assert.equal(search(page).team, slug, 'the URL keeps the slug exactly');
  assert.equal(await page.$eval('#team-dialog-body', (b) => b.dataset.state), 'ready');
  assert.equal(await page.textContent('#team-dialog-title'), team.name);
  const exp = S.teamMembers(slug, S.bounds('all'));
  const members = await page.$$eval('#team-members > li', (lis) => lis.map((li) => ({
    login: li.dataset.login, merged: li.querySelector('.member__stats [data-col="merged"]').textContent,
    avatar: li.querySelector('img.avatar').getAttribute('src') })));
  assert.deepEqual(members.map((m) => m.login), exp.map((m) => m.login));
  assert.equal(n(members[0].merged), exp[0].merged);
  // frank's payloads carried a tracking pixel: the placeholder is shown, the pixel never fetched
  assert.equal(members.find((m) => m.login === 'frank').avatar, '/img/avatar.svg');
  assert.ok(!page.rec.requests.some((u) => u.startsWith(new URL(S.TRACKER_AVATAR).origin)), 'tracker not contacted');
  await shot(page, 'team-odd-slug', { fullPage: false });
  await page.done();

  // the address alone (reload / shared link) opens the same drill-down
  const link = new URL(page.url());
  await openPage(link.pathname + link.search);
  await settled(page, { dialog: true });
  assert.equal(await page.textContent('#team-dialog-title'), team.name);
  await page.done();

  // the contributors and monthly views filtered by that team
  await openPage('/?view=contributors');
  await act(page, () => page.selectOption('#team-filter', slug));
  assert.equal(search(page).filter, slug);
  assert.deepEqual(await page.$$eval('#contributors tbody tr', (trs) => trs.map((tr) => tr.dataset.login)),
    S.contributors(S.bounds('all'), slug).map((c) => c.login));
  await act(page, () => page.click('[data-nav="monthly"]'));
  await act(page, () => page.selectOption('#year-select', '2024'));
  assert.equal(search(page).filter, slug);
  const merged = await page.$$eval('#monthly tbody tr[data-metric="merged"] td', (tds) =>
    Object.fromEntries(tds.map((td) => [td.dataset.month, td.textContent])));
  assert.equal(n(merged.total), S.monthly('2024', slug).rows.merged.total);
  await page.done();
});

test('the dashboard runs under a strict Content-Security-Policy: no inline script or style, no other hosts', async () => {
  const res = await fetch(`${stack.url}/`);
  await res.text();
  const csp = res.headers.get('content-security-policy') || '';
  const dir = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0])
    .map(([k, ...v]) => [k, v]));
  assert.deepEqual(dir['default-src'], ["'self'"], csp);
  assert.deepEqual(dir['script-src'], ["'self'"], csp);
  assert.deepEqual(dir['style-src'], ["'self'"], csp);
  assert.deepEqual(dir['frame-ancestors'], ["'none'"], csp);
  assert.deepEqual(dir['object-src'], ["'none'"], csp);
  assert.ok(dir['img-src'].includes(`${AVATAR_ORIGIN}/`), csp);
  assert.ok(!/unsafe-|data:|\*/.test(csp), `no unsafe-*, data: or wildcard: ${csp}`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(res.headers.get('x-frame-options'), 'DENY');
  assert.ok(res.headers.get('referrer-policy'));
  // the page itself: scripts only from files, no inline handlers or styles
  const page = await openPage('/');
  const inline = await page.evaluate(() => ({
    scripts: [...document.scripts].filter((x) => !x.src).length,
    styles: document.querySelectorAll('style').length,
    handlers: [...document.querySelectorAll('*')].flatMap((el) => [...el.attributes])
      .filter((a) => /^on/i.test(a.name) || /^javascript:/i.test(a.value)).map((a) => a.name),
  }));
  assert.deepEqual(inline, { scripts: 0, styles: 0, handlers: [] });
  // a violation would be a console error: every view once more, checked by done()
  for (const p of ['/?view=contributors', '/?view=monthly&year=2024', '/?team=acme']) {
    await openPage(p);
    await page.done();
  }
});

// RFC 4180, enough for our rows (quoted fields with "" and commas).
function parseCSV(text) {
  const rows = []; let row = []; let f = ''; let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { f += '"'; i++; } else if (ch === '"') q = false; else f += ch;
    } else if (ch === '"') q = true;
    else if (ch === ',') { row.push(f); f = ''; } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(f); rows.push(row); row = []; f = '';
    } else f += ch;
  }
  if (f !== '' || row.length) { row.push(f); rows.push(row); }
  return rows;
}

test('CSV download of the current leaderboard has the same rows as the table', async () => {
  const page = await openPage('/?period=quarter&value=2024-Q1&sort=points');
  const table = await leaderboardRows(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv-download')]);
  const u = new URL(download.url());
  assert.equal(u.pathname, '/api/leaderboard.csv');
  assert.deepEqual(Object.fromEntries(u.searchParams), { period: 'quarter', value: '2024-Q1', sort: 'points' });
  const file = path.join(OUT, 'leaderboard-2024-Q1.csv');
  await download.saveAs(file);
  const [head, ...rows] = parseCSV(fs.readFileSync(file, 'utf8')).filter((r) => r.some((x) => x !== ''));
  const col = (r, k) => r[head.indexOf(k)];
  assert.ok(head.includes('slug') || head.includes('name'), `CSV header names the team: ${head}`);
  const key = head.includes('slug') ? 'slug' : 'name';
  assert.deepEqual(rows.map((r) => col(r, key)), table.map((t) => t[key]), 'same rows in the same order');
  const common = ['rank', ...NUMS].filter((k) => head.includes(k));
  assert.ok(common.includes('merged') && common.includes('created'), `CSV has the counts: ${head}`);
  for (const r of rows) {
    const t = table.find((x) => x[key] === col(r, key));
    for (const k of common) assert.equal(Number(col(r, k)), n(t[k]), `${t.slug} ${k}`);
  }
  await page.done();
});

test('the whole view state round-trips through the URL (reload, shared link, Back)', async () => {
  const page = await openPage('/');
  await act(page, () => page.click('[data-nav="contributors"]'));
  await act(page, () => page.check('#period-quarter'));
  await act(page, () => page.selectOption('#period-select', '2024-Q1'));
  await act(page, () => page.selectOption('#team-filter', 'globex'));
  await act(page, () => page.click('[data-sort="created"]'));
  const url = page.url();
  assert.deepEqual(search(page), { view: 'contributors', period: 'quarter', value: '2024-Q1', filter: 'globex', sort: 'created', dir: 'desc' });
  const state = async (p) => ({
    period: await p.$eval('input[name="period-kind"]:checked', (i) => i.value),
    value: await p.$eval('#period-select', (s) => s.value),
    filter: await p.$eval('#team-filter', (s) => s.value),
    sorted: await p.$eval('th[aria-sort]', (t) => `${t.textContent.trim()} ${t.getAttribute('aria-sort')}`),
    tab: await p.$eval('[aria-current="page"]', (a) => a.dataset.nav),
    rows: await p.$$eval('#contributors tbody tr', (trs) => trs.map((tr) => tr.innerText)),
  });
  const before = await state(page);
  assert.deepEqual(before.sorted, 'Created descending');
  await page.reload();
  await settled(page);
  assert.equal(page.url(), url);
  assert.deepEqual(await state(page), before, 'reload restores the view');

  await page.goBack();
  await settled(page);
  assert.deepEqual(search(page), { view: 'contributors', period: 'quarter', value: '2024-Q1', filter: 'globex' },
    'Back restores the previous state');
  await page.done();

  // The link alone, loaded into a fresh document, shows the same view.
  await openPage(url.slice(stack.url.length));
  assert.deepEqual(await state(page), before, 'a shared link shows the same view');
  await page.done();

  // An open team dialog is addressable too.
  await openPage('/?period=quarter&value=2024-Q1&team=acme');
  await settled(page, { dialog: true });
  assert.equal(await page.textContent('#team-dialog-title'), 'Acme Corp');
  assert.match(await page.textContent('.drawer__sub'), /Q1 2024/);
  await page.done();
});

test('contributors leaderboard for all partners and for one team', async () => {
  const page = await openPage('/?view=contributors&period=year&value=2024');
  const read = () => page.$$eval('#contributors tbody tr', (trs) => trs.map((tr) => ({
    login: tr.dataset.login,
    teams: [...tr.querySelectorAll('[data-team]')].map((a) => a.dataset.team).sort(),
    created: tr.querySelector('[data-col="created"]').textContent,
    merged: tr.querySelector('[data-col="merged"]').textContent,
    rejected: tr.querySelector('[data-col="rejected"]').textContent,
  })));
  const check = async (team, what) => {
    const exp = S.contributors(S.bounds('year', '2024'), team);
    const rows = await read();
    assert.deepEqual(rows.map((r) => r.login), exp.map((c) => c.login), `${what}: contributors in rank order`);
    for (const c of exp) {
      const r = rows.find((x) => x.login === c.login);
      assert.deepEqual(r.teams, [...c.teams].sort(), `${what}: ${c.login} teams`);
      for (const k of ['created', 'merged', 'rejected']) assert.equal(n(r[k]), c[k], `${what}: ${c.login} ${k}`);
    }
  };
  await check(undefined, 'all partners');
  assert.ok(!(await page.$('tr[data-login="helper-bot[bot]"]')), 'bots are not contributors');
  // avatars: GitHub's as delivered; frank's tracking pixel is replaced by the placeholder
  const avatars = await page.$$eval('#contributors tbody tr', (trs) => trs.map((tr) =>
    [tr.dataset.login, tr.querySelector('img.avatar').getAttribute('src')]));
  assert.ok(avatars.some(([login]) => login === 'frank'), 'frank is listed');
  for (const [login, src] of avatars) {
    assert.equal(src, S.shownAvatar(S.USERS[login]) ?? '/img/avatar.svg', `${login} avatar`);
  }
  await shot(page, 'contributors-2024');
  await act(page, () => page.selectOption('#team-filter', 'globex'));
  assert.equal(search(page).filter, 'globex');
  await check('globex', 'globex');
  // A team chip opens that team's drill-down.
  await act(page, () => page.click('tr[data-login="dave"] [data-team="initech"]'), { dialog: true });
  assert.equal(await page.textContent('#team-dialog-title'), 'Initech');
  await page.done();
});

test('monthly statistics: table, chart and year switcher', async () => {
  const page = await openPage('/?view=monthly');
  assert.equal(search(page).year, S.periods(new Date()).years[0], 'the newest year of /api/periods');
  await act(page, () => page.selectOption('#year-select', '2024'));
  assert.equal(search(page).year, '2024');
  const read = () => page.$$eval('#monthly tbody tr', (trs) => Object.fromEntries(trs.map((tr) => [tr.dataset.metric,
    Object.fromEntries([...tr.querySelectorAll('td')].map((td) => [td.dataset.month, td.textContent]))])));
  const check = async (year, team) => {
    const exp = S.monthly(year, team);
    const got = await read();
    assert.deepEqual(Object.keys(got), Object.keys(exp.rows), 'the eight metrics, in order');
    for (const [k, row] of Object.entries(exp.rows)) {
      for (const m of [...exp.months, 'total']) assert.equal(n(got[k][m]), row[m], `${year} ${team || 'all'} ${k} ${m}`);
    }
    const heads = await page.$$eval('#monthly thead th', (t) => t.map((x) => x.textContent));
    assert.equal(heads.length, 14);
    assert.equal(heads[13], year);
  };
  await check('2024');
  // The chart is drawn by Chart.js served from this host.
  assert.ok(await page.evaluate(() => typeof window.Chart === 'function'));
  assert.ok(page.rec.requests.some((u) => u === `${origin}/vendor/chart.js/chart.min.js`));
  const box = await page.$eval('#monthly-chart', (c) => [c.width, c.height]);
  assert.ok(box[0] > 100 && box[1] > 100, `chart canvas drawn ${box}`);
  await shot(page, 'monthly-2024');

  await act(page, () => page.click('#year-older'));
  assert.equal(search(page).year, '2023');
  await check('2023');
  await act(page, () => page.selectOption('#year-select', '2024'));
  await act(page, () => page.selectOption('#team-filter', 'initech'));
  assert.deepEqual(search(page), { view: 'monthly', year: '2024', filter: 'initech' });
  await check('2024', 'initech');
  await page.done();
});

test('an API error is shown with its message, and an empty period says so', async () => {
  const bad = '/?period=month&value=2024-13';
  const api = await stack.get('/api/leaderboard?period=month&value=2024-13');
  assert.equal(api.status, 400);
  const page = await openPage(bad);
  assert.equal(await page.$eval('#view', (v) => v.dataset.state), 'error');
  const text = await page.textContent('#view [role="alert"]');
  assert.ok(text.includes(api.json.error.message), `shows the API's message: ${text}`);
  assert.ok(text.includes('HTTP 400'));
  await shot(page, 'error-state');
  await page.done({ allowErrors: /status of 400/ });

  // A period without any pull request shows the empty state, not a table of zeros.
  const empty = await openPage('/?period=range&from=2022-01-01&to=2022-12-31');
  assert.equal(await empty.$eval('#view', (v) => v.dataset.state), 'empty');
  assert.ok(await empty.$('#view [data-empty]'));
  await shot(empty, 'empty-state');
  await empty.done();
});

test('usable at phone width: no page overflow, table scrolls, dialog fills the screen', async () => {
  const page = await openPage('/?period=quarter&value=2024-Q1', { width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  assert.ok(await page.isVisible('[data-nav="monthly"]'));
  assert.ok(await page.isVisible('#csv-download'));
  await assertLeaderboard(page, S.bounds('quarter', '2024-Q1'), 'phone');
  await shot(page, 'phone-partners');
  await act(page, () => page.click('.team-link[data-team="acme"]'), { dialog: true });
  const w = await page.$eval('#team-dialog', (d) => d.getBoundingClientRect().width);
  assert.ok(w >= 389, `dialog spans the phone (${w}px)`);
  await shot(page, 'phone-team', { fullPage: false });
  await page.keyboard.press('Escape');
  await act(page, () => page.click('[data-nav="monthly"]'));
  await act(page, () => page.selectOption('#year-select', '2024'));
  const over2 = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(over2 <= 0, `monthly page is ${over2}px wider than the phone`);
  await shot(page, 'phone-monthly');
  await page.done();
});

test('keyboard: skip link first, tabs and period controls reachable, focus kept on re-render', async () => {
  const page = await openPage('/');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
  const order = [];
  for (let i = 0; i < 7; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.dataset.nav || document.activeElement.id || document.activeElement.className));
  }
  assert.deepEqual(order.slice(1, 5), ['partners', 'contributors', 'monthly', 'period-all'], `focus order ${order}`);
  // Arrow keys move within the period radio group and switch the period.
  await page.focus('#period-all');
  await act(page, () => page.keyboard.press('ArrowRight'));
  assert.equal(search(page).period, 'month');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'period-month', 'focus survives the re-render');
  await page.done();
});
