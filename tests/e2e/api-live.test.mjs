// Reads while the org is at work (issue 19): lb-api keeps answers per
// worker, keyed by the versions of the days an answer reads (docs/STATS.md
// "Answer cache"). Every answer is read (and so cached) before each kind of
// write, then read again and compared with tests/e2e/api-model.mjs, which
// computes the definitions from the scenario on its own: a write of any
// kind is in the very next answer of every route class that caches (the
// leaderboard and its CSV, a team, contributors, monthly, periods, the PRs
// behind a number, a PR's story), for periods it touches and periods it
// does not. Kinds of writes: a new PR (folded), a merge of an old PR (its
// creation month's open count changes), a title edit, a membership added
// and removed (re-rolled in place), an author turning into a bot (every PR
// of the user re-rolled), a repository renamed out of the tracked list,
// label points and a team edited with SQL or a webhook, memberships
// corrected with SQL (a rebuild swaps the tables), and a changed config.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { deliver, makePR } from './webhooks.mjs';
import { Model, period } from './api-model.mjs';

const SECRET = 'live-test-secret';
const ORG = { id: 9001, login: 'acme' };
const REPOS = {
  core: { id: 501, name: 'core', owner: { login: 'acme', id: 9001 } },
  web: { id: 502, name: 'web', owner: { login: 'acme', id: 9001 } },
  lib: { id: 503, name: 'lib', owner: { login: 'ext', id: 9100 } },
};
const TEAMS = [
  { id: 10, slug: 'alpha', name: 'Alpha Co' },
  { id: 11, slug: 'beta', name: 'Beta Inc' },
  { id: 13, slug: 'staff', name: 'Staff' },
];
const av = (id) => `https://avatars.githubusercontent.com/u/${id}?v=4`;
const U = {
  ann: { id: 100, login: 'ann', type: 'User', avatar_url: av(100) },
  bob: { id: 101, login: 'bob', type: 'User', avatar_url: av(101) },
  cat: { id: 102, login: 'cat', type: 'User', avatar_url: av(102) },
  dan: { id: 103, login: 'dan', type: 'User', avatar_url: av(103) },
};
const L = { bug: { id: 1, name: 'bug', color: 'd73a4a' }, docs: { id: 3, name: 'docs', color: '0075ca' } };

const iso = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
const now0 = Date.now();
// this month, a few minutes ago (but not before the month began)
const monthStart = Date.UTC(new Date(now0).getUTCFullYear(), new Date(now0).getUTCMonth(), 1);
const recent = (mins) => iso(Math.max(monthStart + 60e3, now0 - mins * 60e3));
const today = iso(now0).slice(0, 10);
const daysAgo = (n) => iso(Math.max(monthStart, now0 - n * 86400e3)).slice(0, 10);

// [id, number, repo, user, created, end ({merged}|{closed}|null), labels, title]
const PRS = [
  [2001, 1, 'core', 'ann', '2024-03-05T10:00:00Z', { merged: '2024-03-06T10:00:00Z' }, ['bug']],
  [2002, 2, 'web', 'ann', '2024-04-10T10:00:00Z', null, []],
  [2003, 3, 'core', 'bob', '2024-03-20T10:00:00Z', { closed: '2024-04-02T10:00:00Z' }, ['docs']],
  [2004, 4, 'lib', 'bob', '2024-05-01T10:00:00Z', { merged: '2024-05-03T10:00:00Z' }, ['bug']],
  [2005, 5, 'web', 'cat', '2024-02-14T10:00:00Z', { merged: '2024-02-20T10:00:00Z' }, []],
  [2006, 6, 'core', 'cat', recent(50), null, []],
  [2007, 7, 'web', 'bob', recent(40), null, ['bug']],
];

let s, rows, users, intervals, teams, labelPoints, exclude, tracked;
const titles = new Map();
const scenario = () => ({
  partnerOrg: 'acme', tracked, exclude, mergedPoints: 1, teams,
  users: Object.values(users), intervals, prs: rows.map(finalPR), labelPoints,
  labelColors: Object.fromEntries(Object.values(L).map((l) => [l.name, l.color])), now: new Date(),
});

function finalPR(row) {
  const [id, number, repo, user, created, end, labels] = row;
  return { id, number, repo: REPOS[repo], user: users[user], created_at: created,
    state: end ? 'closed' : 'open', merged: Boolean(end && end.merged),
    merged_at: end && end.merged ? end.merged : null,
    closed_at: end ? (end.merged || end.closed) : null, labels: labels.map((l) => L[l]) };
}

function snapshot(row, { final = true, updated } = {}) {
  const [id, number, repo, user, created, end, labels] = row;
  const f = { id, number, repo: REPOS[repo], user: users[user], created_at: created,
    labels: labels.map((l) => L[l]), title: titles.get(id) || `PR ${id}` };
  if (!final || !end) {
    return makePR({ ...f, action: 'opened', state: 'open', updated_at: updated || created,
      closed_at: null, merged_at: null, merged: false });
  }
  const t = end.merged || end.closed;
  return makePR({ ...f, action: 'closed', state: 'closed', updated_at: updated || t, closed_at: t,
    merged_at: end.merged || null, merged: Boolean(end.merged) });
}

async function hook(event, payload) {
  const r = await deliver(s, event, payload, { secret: SECRET });
  assert.equal(r.status, 202, `${event}: ${r.text}`);
  return r.json;
}

async function get(path) {
  const r = await s.get(path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return r;
}

const PERIODS = [
  ['all'], ['year', '2024'], ['month', '2024-03'], ['range', null, '2024-03-01', '2024-05-15'],
  ['range', null, '2024-03-06', '2024-03-06'], ['month', today.slice(0, 7)],
  ['range', null, daysAgo(3), today], ['year', today.slice(0, 4)],
];
const qs = ([kind, value, from, to]) => new URLSearchParams(
  Object.fromEntries(Object.entries({ period: kind, value, from, to }).filter(([, v]) => v))).toString();
const P = ([kind, value, from, to]) => period(kind, value, from, to);

// Every route class, as the model says it must be now.
function expected(model) {
  const out = [];
  for (const per of PERIODS) {
    out.push([`/api/leaderboard?${qs(per)}`, () => model.board(P(per))]);
    out.push([`/api/leaderboard.csv?${qs(per)}`, null, () => model.board(P(per)).teams.map((t) => `${t.slug}:${t.merged}`)]);
    for (const t of model.ranked) out.push([`/api/teams/${t.slug}?${qs(per)}`, () => model.team(t.slug, P(per))]);
    out.push([`/api/contributors?${qs(per)}`, () => model.contributors(P(per))]);
    for (const m of ['created', 'merged', 'open']) {
      out.push([`/api/prs?metric=${m}&${qs(per)}`, null, null,
        () => model.prsBehind({}, P(per), m).map((p) => p.id)]);
    }
  }
  for (const y of [2024, Number(today.slice(0, 4))]) {
    out.push([`/api/stats/monthly?year=${y}`, () => model.monthly(y)]);
    for (const t of model.ranked) out.push([`/api/stats/monthly?year=${y}&team=${t.slug}`, () => model.monthly(y, t.slug)]);
  }
  out.push(['/api/periods', () => model.periods()]);
  return out;
}

// Reads every route (twice: both workers are likely to cache it), and
// compares each answer with the model.
async function checkAll(label) {
  const model = new Model(scenario());
  for (let round = 0; round < 2; round++) {
    for (const [path, json, csv, ids] of expected(model)) {
      const r = await get(path);
      if (json) assert.deepEqual(r.json, json(), `${label}: ${path}`);
      if (csv) {
        const lines = r.text.trim().split('\r\n').slice(1).map((l) => l.split(','));
        assert.deepEqual(lines.map((c) => `${c[2].replace(/"/g, '')}:${c[6]}`), csv(), `${label}: ${path}`);
      }
      if (ids) assert.deepEqual(r.json.prs.map((p) => p.id), ids(), `${label}: ${path}`);
    }
  }
  return model;
}

async function story(row) {
  const [id, number, repo] = row;
  const r = await get(`/api/prs/${REPOS[repo].owner.login}/${REPOS[repo].name}/${number}`);
  assert.equal(r.json.pr.id, id);
  return r.json;
}

before(async () => {
  tracked = ['acme/core', 'acme/web', 'ext/lib'];
  exclude = ['staff'];
  s = await startStack({
    workers: 2,
    sets: {
      'github.webhook_secret': SECRET, 'github.partner_org': 'acme',
      'github.repositories': tracked.join(','), 'github.exclude_teams': exclude.join(','),
      // deliveries queue their PRs: the readers' folds are what these tests check
      // (hook-roll.test.mjs: an idle receiver rolling them itself)
      'hook.roll_when_idle_ms': '0',
    },
  });
  users = Object.fromEntries(Object.entries(U).map(([k, v]) => [k, { ...v }]));
  teams = TEAMS.map((t) => ({ ...t }));
  rows = PRS.map((r) => [...r]);
  labelPoints = {};
  intervals = [
    { team: 10, user: 100, start: null, end: null },
    { team: 11, user: 101, start: null, end: null },
    { team: 10, user: 102, start: null, end: null },
  ];
  for (const t of TEAMS) await hook('team', { action: 'created', team: { ...t }, organization: ORG, sender: U.ann });
  for (const iv of intervals) {
    const t = TEAMS.find((x) => x.id === iv.team);
    const u = Object.values(U).find((x) => x.id === iv.user);
    await hook('membership', { action: 'added', scope: 'team', member: u, team: { ...t }, organization: ORG, sender: U.ann });
  }
  // the history GitHub does not know: members since ever
  await s.sql('UPDATE memberships SET started_at = NULL');
  for (const row of rows) {
    await hook('pull_request', snapshot(row, { final: false }));
    if (row[5]) await hook('pull_request', snapshot(row));
  }
});
after(() => s && s.stop());

// The first answers rebuild (the SQL above) and fold; from then on every
// answer is read, cached, and must follow each write at once.
test('the scenario as the model says, every route class', async () => {
  const deadline = Date.now() + 15000;
  for (;;) {
    try {
      await checkAll('initial');
      break;
    } catch (e) {
      if (Date.now() > deadline) throw e;	// the rebuild after the SQL edit is due within seconds
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const [[built]] = await s.sql('SELECT built_at FROM stat_state WHERE id = 1');
  assert.ok(built);
});

test('a new PR this month: in the next answer of this month, all time, this year', async () => {
  await checkAll('before');
  const row = [2008, 8, 'core', 'ann', recent(5), null, ['docs']];
  rows.push(row);
  await hook('pull_request', snapshot(row, { final: false }));
  await checkAll('new PR');
  // the version of 2024's days did not move: a PR of this month leaves them
  const [[v2024]] = await s.sql("SELECT COALESCE(SUM(v), 0) FROM stat_day_version WHERE day < '2025-01-01'");
  const row2 = [2009, 9, 'web', 'cat', recent(4), null, []];
  rows.push(row2);
  await hook('pull_request', snapshot(row2, { final: false }));
  await checkAll('second new PR');
  const [[v2024b]] = await s.sql("SELECT COALESCE(SUM(v), 0) FROM stat_day_version WHERE day < '2025-01-01'");
  assert.equal(v2024b, v2024, 'a PR created this month must not change the versions of 2024');
});

test('an old PR merged now: the month it was created in (open) and this month (merged)', async () => {
  await checkAll('before');
  const row = rows.find((r) => r[0] === 2002);
  row[5] = { merged: recent(3) };
  await hook('pull_request', snapshot(row));
  await checkAll('old PR merged now');
});

// lb-api's workers share their answers (lib/shcache): one worker computes an
// answer for a data version, the others copy it. A write seen through one
// worker must then be in every worker's next answer, never an answer another
// worker shared for the version before; and after a write the answer is
// computed once, by one worker, while the others wait for it.
test('one answer for every worker: a write read through one worker is in what all the others answer', async () => {
  const per = ['month', today.slice(0, 7)];
  const path = `/api/leaderboard?${qs(per)}`;
  const many = () => Promise.all(Array.from({ length: 16 }, () => get(path)));
  const before1 = await many();	// 16 at once: both workers answer (and keep) it
  assert.equal(new Set(before1.map((r) => r.headers.get('etag'))).size, 1);
  const row = [2030, 30, 'web', 'bob', recent(2), null, []];
  rows.push(row);
  await hook('pull_request', snapshot(row, { final: false }));
  const want = new Model(scenario()).board(P(per));
  const first = await get(path);
  assert.deepEqual(first.json, want, 'the first read after the write');
  assert.equal(first.headers.get('x-answer'), 'computed', 'the first read after the write');
  const after1 = await many();
  for (const r of after1) assert.deepEqual(r.json, want, 'every worker after the write');
  assert.equal(new Set(after1.map((r) => r.headers.get('etag'))).size, 1);
  assert.notEqual(first.headers.get('etag'), before1[0].headers.get('etag'));
  // computed once for all workers: the other worker copies it, then keeps it
  const how1 = after1.map((r) => r.headers.get('x-answer'));
  assert.ok(how1.every((h) => h === 'shared' || h === 'cached'), how1.join(' '));
  // another write, then 16 reads at once: both workers find the PR queued
  // and the version changed; one computes, the other waits and copies
  const row2 = [2033, 33, 'core', 'ann', recent(1), null, []];
  rows.push(row2);
  await hook('pull_request', snapshot(row2, { final: false }));
  const want2 = new Model(scenario()).board(P(per));
  const after2 = await many();
  for (const r of after2) assert.deepEqual(r.json, want2, 'every read after the second write');
  assert.equal(new Set(after2.map((r) => r.headers.get('etag'))).size, 1);
  const how2 = after2.map((r) => r.headers.get('x-answer'));
  assert.equal(how2.filter((h) => h === 'computed').length, 1, how2.join(' '));
  assert.ok(how2.every((h) => ['computed', 'shared', 'cached'].includes(h)), how2.join(' '));
  await checkAll('after the shared answers');
});

// A reader folds only the queued PRs of the days its answer reads
// (lib/rollup.h rollup_fold_days): an answer of 2024 neither waits for nor
// misses anything when a PR of today is queued; this month's answer folds it.
test('an answer of 2024 leaves a queued PR of today to the answers of today', async () => {
  await checkAll('before');
  const y2024 = ['year', '2024'];
  const want2024 = new Model(scenario()).board(P(y2024));
  const row = [2031, 31, 'core', 'cat', recent(1), null, []];
  rows.push(row);
  await hook('pull_request', snapshot(row, { final: false }));
  const [[queued]] = await s.sql('SELECT COUNT(*) FROM stat_queue WHERE pr_id = 2031');
  assert.equal(Number(queued), 1, 'lb-syncd does not run here: the delivery waits in the queue');
  assert.deepEqual((await get(`/api/leaderboard?${qs(y2024)}`)).json, want2024);
  const [[still]] = await s.sql('SELECT COUNT(*) FROM stat_queue WHERE pr_id = 2031');
  assert.equal(Number(still), 1, 'an answer of 2024 folds nothing of today');
  const month = ['month', today.slice(0, 7)];
  // MariaDB's statement counters around the answer that folds it (nothing
  // else writes here: no lb-syncd, no delivery, no rebuild due)
  const status = async () => Object.fromEntries((await s.sql("SHOW GLOBAL STATUS WHERE "
    + "Variable_name IN ('Com_update', 'Com_commit')")).map(([k, v]) => [k, Number(v)]));
  const before = await status();
  assert.deepEqual((await get(`/api/leaderboard?${qs(month)}`)).json, new Model(scenario()).board(P(month)));
  const after = await status();
  const [[left]] = await s.sql('SELECT COUNT(*) FROM stat_queue WHERE pr_id = 2031');
  assert.equal(Number(left), 0, "this month's answer folded it");
  // the reader's fold of one PR: the lease taken, one transaction that
  // also gives it back (lib/rollup.h rollup_fold)
  assert.equal(after.Com_commit - before.Com_commit, 1, 'one transaction');
  assert.equal(after.Com_update - before.Com_update, 2, 'the fold lease taken, then given back in it');
  assert.deepEqual(await s.sql("SELECT owner FROM leases WHERE name = 'fold'"), [['NULL']]);
  await checkAll('after');
});

// While a rebuild that started longer ago than a reader waits runs (its
// leases held: minutes at a million PRs, e.g. at the end of an import), a
// reader does not wait for the fold lease it holds: it answers from the
// rollups as they are, without polling the queue; the PR is in the first
// answer after the rebuild. (A young rebuild is waited for: the dashboard
// tests' first build.)
test('during a long rebuild, an answer of today answers at once from the rollups as they are', async () => {
  await checkAll('before');
  const month = ['month', today.slice(0, 7)];
  const before = new Model(scenario()).board(P(month));
  // a rebuild's lease is taken for 15 minutes: 10 left, so it started 5 minutes ago
  await s.sql("UPDATE leases SET owner = 'test-rebuild', expires_at = NOW(6) + INTERVAL 10 MINUTE "
    + "WHERE name IN ('rollup', 'fold')");
  const row = [2032, 32, 'core', 'cat', recent(1), null, []];
  rows.push(row);
  await hook('pull_request', snapshot(row, { final: false }));
  const questions = async () => Number((await s.sql("SHOW GLOBAL STATUS LIKE 'Questions'"))[0][1]);
  const q0 = await questions();
  assert.deepEqual((await get(`/api/leaderboard?${qs(month)}`)).json, before, 'the rollups as they are');
  const asked = await questions() - q0 - 1;
  assert.ok(asked < 50, `${asked} statements for one answer: the reader polled the queue`);
  const [[queued]] = await s.sql('SELECT COUNT(*) FROM stat_queue WHERE pr_id = 2032');
  assert.equal(Number(queued), 1, 'left for the fold after the rebuild');
  await s.sql("UPDATE leases SET owner = NULL, expires_at = '1970-01-01' WHERE name IN ('rollup', 'fold')");
  assert.deepEqual((await get(`/api/leaderboard?${qs(month)}`)).json, new Model(scenario()).board(P(month)));
  await checkAll('after');
});

test('a title edited: the PR lists behind the numbers show it at once', async () => {
  const per = ['year', '2024'];
  const path = `/api/prs?metric=merged&${qs(per)}`;
  const before1 = await get(path);
  assert.ok(before1.json.prs.some((p) => p.id === 2001 && p.title === 'PR 2001'));
  const row = rows.find((r) => r[0] === 2001);
  titles.set(2001, 'A better title');
  const edited = snapshot(row, { updated: recent(2) });
  edited.action = 'edited';
  await hook('pull_request', edited);
  const after1 = await get(path);
  assert.equal(after1.json.prs.find((p) => p.id === 2001).title, 'A better title');
  const st = await story(row);
  assert.ok(JSON.stringify(st).includes('edited'), 'the story lists the edit');
  await checkAll('title edited');
});

test('membership added then removed (re-rolled in place): attribution and current teams follow', async () => {
  await checkAll('before');
  await hook('membership', { action: 'added', scope: 'team', member: U.dan, team: { ...TEAMS[1] }, organization: ORG, sender: U.ann });
  const [[start]] = await s.sql("SELECT DATE_FORMAT(started_at, '%Y-%m-%dT%H:%i:%s.%fZ') FROM memberships WHERE user_id = 103 AND team_id = 11");
  intervals.push({ team: 11, user: 103, start, end: null });
  await checkAll('dan added');
  const row = [2010, 10, 'core', 'dan', iso(Date.parse(start) + 2000), null, []];
  rows.push(row);
  await hook('pull_request', snapshot(row, { final: false }));
  await checkAll('dan opened a PR');
  await hook('membership', { action: 'removed', scope: 'team', member: U.cat, team: { ...TEAMS[0] }, organization: ORG, sender: U.ann });
  const [[end]] = await s.sql("SELECT DATE_FORMAT(ended_at, '%Y-%m-%dT%H:%i:%s.%fZ') FROM memberships WHERE user_id = 102 AND team_id = 10");
  intervals.find((iv) => iv.user === 102 && iv.team === 10).end = end;
  await checkAll('cat removed');
});

test('an author becomes a bot: every PR of the user leaves every period at once', async () => {
  await checkAll('before');
  users.bob = { ...users.bob, type: 'Bot' };
  const row = [2011, 11, 'lib', 'bob', recent(1), null, []];
  rows.push(row);
  await hook('pull_request', snapshot(row, { final: false }));
  await checkAll('bob is a bot');
});

test('a tracked repository renamed out of the list: its PRs stop counting at once', async () => {
  await checkAll('before');
  const repo = { id: REPOS.web.id, name: 'web-old', full_name: 'acme/web-old', owner: { login: 'acme', id: 9001 }, private: false };
  await hook('repository', { action: 'renamed', changes: { repository: { name: { from: 'web' } } }, repository: repo, organization: ORG, sender: U.ann });
  REPOS.web = { ...REPOS.web, name: 'web-old' };
  await checkAll('web renamed');
});

test('label points and a team name edited: the next answers use them', async () => {
  await checkAll('before');
  await s.sql("INSERT INTO label_points (label_name, points) VALUES ('docs', 7)");
  labelPoints = { docs: 7 };
  await checkAll('label points');
  const beta = { ...TEAMS[1], name: 'Beta Renamed' };
  await hook('team', { action: 'edited', team: beta, changes: { name: { from: 'Beta Inc' } }, organization: ORG, sender: U.ann });
  teams.find((t) => t.id === 11).name = 'Beta Renamed';
  await checkAll('team renamed');
});

test('memberships corrected with SQL: the rebuild swaps the tables and every answer follows', async () => {
  await checkAll('before');
  const [[built]] = await s.sql('SELECT built_at FROM stat_state WHERE id = 1');
  // cat was in beta, not alpha, before July 2024
  await s.sql("UPDATE memberships SET started_at = '2024-07-01 00:00:00' WHERE user_id = 102 AND team_id = 10");
  await s.sql("INSERT INTO memberships (team_id, user_id, started_at, ended_at, source) VALUES (11, 102, NULL, '2024-07-01 00:00:00', 'admin')");
  intervals.find((iv) => iv.user === 102 && iv.team === 10).start = '2024-07-01T00:00:00Z';
  intervals.push({ team: 11, user: 102, start: null, end: '2024-07-01T00:00:00Z' });
  // a rebuild is due within API_CHECK_EVERY seconds: poll for it
  const deadline = Date.now() + 15000;
  for (;;) {
    await get('/api/leaderboard');
    const [[b]] = await s.sql('SELECT built_at FROM stat_state WHERE id = 1');
    if (b !== built) break;
    assert.ok(Date.now() < deadline, 'no rebuild after the SQL edit');
    await new Promise((r) => setTimeout(r, 100));
  }
  await checkAll('rebuilt');
});

test('a changed config (excluded teams) rebuilds and no answer of the old config is served', async () => {
  await checkAll('before');
  const dir = s.dir;
  await s.stop();
  exclude = ['staff', 'beta'];
  s = await startStack({
    dir, workers: 2,
    sets: {
      'github.webhook_secret': SECRET, 'github.partner_org': 'acme',
      'github.repositories': tracked.join(','), 'github.exclude_teams': exclude.join(','),
      // deliveries queue their PRs: the readers' folds are what these tests check
      // (hook-roll.test.mjs: an idle receiver rolling them itself)
      'hook.roll_when_idle_ms': '0',
    },
  });
  await checkAll('beta excluded');
});
