// Every number of the dashboard opens the PRs behind it (issue 21), in real
// headless Chromium against a private stack with the scenario of
// dashboard-scenario.mjs. The expected PRs are computed here from the
// scenario's own inputs with the contract's definitions; clicks by mouse
// and by keyboard, at desktop and phone width.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import * as S from './dashboard-scenario.mjs';
import { OUT, startDashboard, stopDashboard } from './dashboard-browser.mjs';
import { routeAvatars } from '../github-double/avatars.mjs';

let stack, browser, page, origin;
const errors = [];
const env = {};

before(async () => {
  await startDashboard(env);
  ({ stack, browser, origin } = env);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, reducedMotion: 'reduce' });
  await context.route('**/*', (route) => (new URL(route.request().url()).origin === origin
    ? route.continue() : (errors.push(`offsite: ${route.request().url()}`), route.abort())));
  await routeAvatars(context);	// registered later, so asked first: GitHub's avatar host, answered here
  page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
});

after(() => stopDashboard(env));

// ---- expected PRs, from the scenario ----
const full = (r) => `${r.owner.login}/${r.name}`;
const day = (iso) => (iso ? iso.slice(0, 10) : null);
const counted = S.PRS.filter((p) => S.USERS[p.author].type !== 'Bot' && S.TRACKED.includes(full(S.REPOS[p.repo])));
const inside = (iso, b) => iso != null && day(iso) >= b.from && day(iso) <= b.to;
// team (slug) or partner: true; author (login); metric; bounds b
function behind({ team, partner, author }, metric, b) {
  return counted.filter((p) => {
    const u = S.USERS[p.author];
    if (team && !u.teams.includes(team)) return false;
    if (partner && !u.teams.length) return false;
    if (author && u.login !== author) return false;
    const rej = p.merged_at === null && p.state === 'closed' ? p.closed_at : null;
    return { created: inside(p.created_at, b), merged: inside(p.merged_at, b), rejected: inside(rej, b),
      open: inside(p.created_at, b) && p.state === 'open', points: inside(p.merged_at, b) }[metric];
  }).map((p) => `${full(S.REPOS[p.repo])}#${p.number}`).sort();
}

async function settled() {
  await page.waitForFunction(() => {
    const v = document.getElementById('view');
    return ['ready', 'empty', 'error'].includes(v.dataset.state) && !v.hasAttribute('aria-busy');
  }, null, { timeout: 15000 });
}

async function open(p, size = { width: 1280, height: 900 }) {
  await page.setViewportSize(size);
  await page.goto(stack.url + p);
  await settled();
}

// The PR list dialog is open and loaded: its PRs as OWNER/REPO#N, sorted.
async function shownPRs() {
  // wait for an outcome, then say which: a failed load names its message
  // instead of timing out
  await page.waitForFunction(() => {
    const d = document.getElementById('prs-dialog');
    const b = document.getElementById('prs-dialog-body');
    return d && d.open && ['ready', 'error'].includes(b.dataset.state);
  }, null, { timeout: 15000 }).catch(async (e) => {
    const seen = await page.evaluate(() => {
      const d = document.getElementById('prs-dialog');
      const b = document.getElementById('prs-dialog-body');
      return { open: !!(d && d.open), state: b && b.dataset.state, focus: document.activeElement && document.activeElement.outerHTML.slice(0, 120) };
    });
    throw new Error(`the PR list did not show: ${JSON.stringify(seen)} (${e.message})`);
  });
  const state = await page.$eval('#prs-dialog-body', (b) => ({ state: b.dataset.state, text: b.textContent }));
  assert.equal(state.state, 'ready', `the PR list loaded (${state.text})`);
  return (await page.$$eval('#prs-list li.pr', (lis) => lis.map((li) => `${li.dataset.repo}#${li.dataset.number}`))).sort();
}

async function closeList() {
  await page.keyboard.press('Escape');
  await page.waitForFunction(() => !document.getElementById('prs-dialog').open);
}

// RFC 4180: quoted cells, "" inside quotes, CRLF rows
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') q = false; else cell += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cell); cell = ''; } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell); rows.push(row); row = []; cell = ''; i++;
    } else cell += c;
  }
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

test('leaderboard: a team\'s number and the totals open exactly their PRs, with GitHub links and CSV', async () => {
  await open('/?period=year&value=2024');
  const b = S.bounds('year', '2024');
  for (const [slug, metric] of [['acme', 'merged'], ['globex', 'created'], ['initech', 'rejected'], ['acme', 'open']]) {
    await page.click(`#leaderboard tr[data-team="${slug}"] [data-col="${metric}"] button.explain`);
    const want = behind({ team: slug }, metric, b);
    assert.deepEqual(await shownPRs(), want, `${slug} ${metric}`);
    assert.equal(Number(await page.$eval(`#leaderboard tr[data-team="${slug}"] [data-col="${metric}"]`, (e) => e.textContent)), want.length);
    // GitHub links, and the CSV of the same list
    for (const href of await page.$$eval('#prs-list .pr__link', (as) => as.map((a) => a.href))) {
      assert.match(href, /^https:\/\/github\.com\/[^/]+\/[^/]+\/pull\/\d+$/);
    }
    const csvHref = await page.$eval('#prs-csv', (a) => a.getAttribute('href'));
    const csv = await (await fetch(stack.url + csvHref)).text();
    const rows = parseCsv(csv).slice(1);
    assert.deepEqual(rows.map((r) => r.slice(0, 2).join('#')).sort(), want, `${slug} ${metric} csv`);
    await closeList();
  }
  // the points number opens its merged PRs, and the list says the same points
  const pts = (await page.textContent('#leaderboard tr[data-team="acme"] [data-col="points"]')).trim();
  await page.click('#leaderboard tr[data-team="acme"] [data-col="points"] button.explain');
  assert.deepEqual(await shownPRs(), behind({ team: 'acme' }, 'merged', b));
  assert.match(await page.textContent('#prs-dialog-body .drawer__sub'), new RegExp(` ${pts} points$`));
  await closeList();
  await page.click('#leaderboard tfoot [data-col="merged"] button.explain');
  assert.deepEqual(await shownPRs(), behind({ partner: true }, 'merged', b));
  await closeList();
  assert.deepEqual(errors, []);
});

test('a PR opens its story: for whom it counts and through which membership', async () => {
  await open('/?period=year&value=2024');
  await page.click('#leaderboard tr[data-team="globex"] [data-col="merged"] button.explain');
  const list = await shownPRs();
  // dave is in globex and initech: his PR counts for both
  const dave = counted.find((p) => p.author === 'dave' && inside(p.merged_at, S.bounds('year', '2024')));
  const key = `${full(S.REPOS[dave.repo])}#${dave.number}`;
  assert.ok(list.includes(key));
  await page.click(`#prs-list li.pr[data-number="${dave.number}"] .pr__why`);
  await page.waitForFunction(() => document.getElementById('prs-dialog-body').dataset.state === 'ready'
    && document.getElementById('story-verdict'));
  const verdict = await page.textContent('#story-verdict');
  assert.match(verdict, /Counts for/);
  for (const t of ['Globex', 'Initech']) assert.ok(verdict.includes(t), verdict);
  assert.deepEqual((await page.$$eval('#story-teams > li', (lis) => lis.map((li) => [li.dataset.team, li.dataset.counts]))).sort(),
    [['globex', 'true'], ['initech', 'true']]);
  assert.ok((await page.$$eval('#story-history li', (l) => l.length)) >= 1, 'the deliveries that wrote it');
  await page.click('#prs-back');
  assert.deepEqual(await shownPRs(), list);
  await closeList();
  assert.deepEqual(errors, []);
});

test('keyboard: Enter on a number opens the list, Esc closes it and gives focus back', async () => {
  await open('/?period=quarter&value=2024-Q1');
  const sel = '#leaderboard tr[data-team="acme"] [data-col="created"] button.explain';
  await page.focus(sel);
  await page.keyboard.press('Enter');
  assert.deepEqual(await shownPRs(), behind({ team: 'acme' }, 'created', S.bounds('quarter', '2024-Q1')));
  assert.equal(await page.evaluate(() => document.activeElement.id), 'prs-dialog-title', 'focus moves into the dialog');
  // Tab reaches the PR links inside the dialog (modal: focus stays in it)
  await page.keyboard.press('Tab');
  assert.ok(await page.evaluate(() => document.getElementById('prs-dialog').contains(document.activeElement)));
  await closeList();
  assert.equal(await page.evaluate((s) => document.activeElement === document.querySelector(s), sel), true, 'focus back on the number');
  // Space works too (a real button)
  await page.keyboard.press('Space');
  assert.equal((await shownPRs()).length, behind({ team: 'acme' }, 'created', S.bounds('quarter', '2024-Q1')).length);
  await closeList();
  assert.deepEqual(errors, []);
});

test('a list opened again before the close event of the last one arrives still loads', async () => {
  await open('/?period=quarter&value=2024-Q1');
  const sel = '#leaderboard tr[data-team="acme"] [data-col="created"] button.explain';
  await page.click(sel);
  const want = behind({ team: 'acme' }, 'created', S.bounds('quarter', '2024-Q1'));
  assert.deepEqual(await shownPRs(), want);
  // close and reopen in one task: the dialog's 'close' event is queued and
  // arrives after the new list has started loading
  await page.evaluate((s) => { document.getElementById('prs-dialog').close(); document.querySelector(s).click(); }, sel);
  assert.deepEqual(await shownPRs(), want);
  await closeList();
  assert.deepEqual(errors, []);
});

test('team drill-down: a member\'s numbers open that member\'s PRs in the team', async () => {
  await open('/?period=year&value=2024&team=globex');
  await page.waitForFunction(() => document.getElementById('team-dialog').open
    && document.getElementById('team-dialog-body').dataset.state === 'ready');
  const b = S.bounds('year', '2024');
  for (const [login, metric] of [['dave', 'merged'], ['carol', 'created'], ['carol', 'rejected']]) {
    await page.click(`#team-members li[data-login="${login}"] dd[data-col="${metric}"] button.explain`);
    assert.deepEqual(await shownPRs(), behind({ team: 'globex', author: login }, metric, b), `${login} ${metric}`);
    await closeList();
    assert.ok(await page.evaluate(() => document.getElementById('team-dialog').open), 'the drill-down stays open');
  }
  await page.click('#team-dialog-body .kpi[data-kpi="merged"] dd button.explain');
  assert.deepEqual(await shownPRs(), behind({ team: 'globex' }, 'merged', b));
  await closeList();
  assert.deepEqual(errors, []);
});

test('contributors and the monthly table: each number opens its PRs', async () => {
  await open('/?view=contributors&period=year&value=2024');
  const b = S.bounds('year', '2024');
  for (const [login, metric] of [['alice', 'created'], ['erin', 'merged'], ['carol', 'rejected']]) {
    await page.click(`#contributors tr[data-login="${login}"] td[data-col="${metric}"] button.explain`);
    assert.deepEqual(await shownPRs(), behind({ author: login }, metric, b), `${login} ${metric}`);
    await closeList();
  }
  await open('/?view=monthly&year=2024');
  for (const [metric, month] of [['merged', '2024-01'], ['created', '2024-02'], ['rejected', '2024-02']]) {
    await page.click(`#monthly tr[data-metric="${metric}"] td[data-month="${month}"] button.explain`);
    assert.deepEqual(await shownPRs(), behind({}, metric, S.bounds('month', month)), `${metric} ${month}`);
    await closeList();
  }
  await page.click('#monthly tr[data-metric="merged"] td[data-month="total"] button.explain');
  assert.deepEqual(await shownPRs(), behind({}, 'merged', b));
  await closeList();
  await open('/?view=monthly&year=2024&filter=acme');
  await page.click('#monthly tr[data-metric="created"] td[data-month="2024-01"] button.explain');
  assert.deepEqual(await shownPRs(), behind({ team: 'acme' }, 'created', S.bounds('month', '2024-01')));
  await closeList();
  assert.deepEqual(errors, []);
});

test('phone width: the list fills the screen without overflow and opens by touch-size targets', async () => {
  await open('/?period=year&value=2024', { width: 390, height: 844 });
  // the leaderboard table scrolls horizontally on a phone: bring the cell in
  const sel = '#leaderboard tr[data-team="acme"] [data-col="merged"] button.explain';
  await page.$eval(sel, (b) => b.scrollIntoView({ block: 'center', inline: 'center' }));
  const box = await page.$eval(sel, (b) => { const r = b.getBoundingClientRect(); return { w: r.width, h: r.height }; });
  assert.ok(box.w >= 24 && box.h >= 24, `target ${box.w}x${box.h}`);
  await page.click(sel);
  assert.deepEqual(await shownPRs(), behind({ team: 'acme' }, 'merged', S.bounds('year', '2024')));
  const d = await page.$eval('#prs-dialog', (el) => ({ w: el.getBoundingClientRect().width, over: el.scrollWidth - el.clientWidth }));
  assert.ok(d.w >= 389, `the list spans the phone (${d.w}px)`);
  assert.ok(d.over <= 0, `the list is ${d.over}px wider than the dialog`);
  assert.ok(await page.isVisible('#prs-csv'));
  await page.screenshot({ path: path.join(OUT, 'phone-prs.png') });
  await page.click('#prs-list li.pr .pr__why');
  await page.waitForFunction(() => document.getElementById('story-verdict'));
  const over = await page.$eval('#prs-dialog', (el) => el.scrollWidth - el.clientWidth);
  assert.ok(over <= 0, `the story is ${over}px wider than the dialog`);
  await page.screenshot({ path: path.join(OUT, 'phone-story.png') });
  await closeList();
  assert.deepEqual(errors, []);
});
