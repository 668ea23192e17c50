// Statistics API (issue 5): a scenario loaded through signed webhooks
// (teams, memberships, PR lifecycles across month / quarter / year
// boundaries, a member who changes teams, a member of an excluded team, a
// bot, an untracked repository, duplicate and out-of-order deliveries),
// membership history corrected with SQL as an admin would. Every field of
// every route, for several periods, is compared with tests/e2e/api-model.mjs,
// which computes the definitions from the scenario on its own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import zlib from 'node:zlib';
import { startStack } from './harness.mjs';
import { deliver, makePR } from './webhooks.mjs';
import { Model, period, parseCSV } from './api-model.mjs';

const SECRET = 'api-test-secret';
const TOKEN = 'admin-token-for-tests';
const ORG = { id: 9001, login: 'acme' };
const REPOS = {
  core: { id: 501, name: 'core', owner: { login: 'acme', id: 9001 } },
  web: { id: 502, name: 'web', owner: { login: 'acme', id: 9001 } },
  lib: { id: 503, name: 'lib', owner: { login: 'ext', id: 9100 } },
  secret: { id: 504, name: 'secret', owner: { login: 'acme', id: 9001 } },
};
const TEAMS = [
  { id: 10, slug: 'alpha', name: 'Alpha Co' },
  { id: 11, slug: 'beta', name: 'Beta Inc' },
  { id: 12, slug: 'gamma', name: 'Gamma' },
  { id: 13, slug: 'staff', name: 'Staff' },
  { id: 14, slug: 'delta', name: 'Delta' },
];
const U = {
  ann: { id: 100, login: 'ann', type: 'User', avatar_url: 'https://avatars.githubusercontent.com/u/100?v=4' },
  bob: { id: 101, login: 'bob', type: 'User', avatar_url: 'https://avatars.githubusercontent.com/u/101?v=4' },
  cat: { id: 102, login: 'cat', type: 'User', avatar_url: 'https://avatars.githubusercontent.com/u/102?v=4' },
  dan: { id: 103, login: 'dan', type: 'User', avatar_url: 'https://avatars.githubusercontent.com/u/103?v=4' },
  eve: { id: 104, login: 'eve', type: 'User', avatar_url: 'https://avatars.githubusercontent.com/u/104?v=4' },
  bot: { id: 105, login: 'helper[bot]', type: 'Bot', avatar_url: 'https://avatars.githubusercontent.com/u/105?v=4' },
  fay: { id: 106, login: 'fay', type: 'User', avatar_url: 'https://avatars.githubusercontent.com/u/106?v=4' },
  gus: { id: 107, login: 'gus', type: 'User', avatar_url: 'https://avatars.githubusercontent.com/u/107?v=4' },
};
const L = {
  bug: { id: 1, name: 'bug', color: 'd73a4a' },
  feature: { id: 2, name: 'feature', color: 'a2eeef' },
  docs: { id: 3, name: 'docs', color: '0075ca' },
};
// Final intervals after the admin's SQL corrections ([start, end), null = open).
const INTERVALS = [
  { team: 10, user: 100, start: null, end: null },
  { team: 11, user: 101, start: null, end: null },
  { team: 10, user: 102, start: null, end: '2024-07-01T00:00:00Z' },
  { team: 11, user: 102, start: '2024-07-01T00:00:00Z', end: null },
  { team: 13, user: 103, start: null, end: '2024-10-01T00:00:00Z' },
  { team: 10, user: 103, start: null, end: null },
  { team: 10, user: 104, start: null, end: null },
  { team: 12, user: 104, start: null, end: null },
  { team: 10, user: 105, start: null, end: null },
  { team: 14, user: 107, start: null, end: null },
];

// PRs: [id, number, repo, user, created, end state, labels]; end: null (open),
// {merged: t} or {closed: t}.
const PRS = [
  [1001, 1, 'core', 'ann', '2023-12-31T22:00:00Z', { merged: '2024-01-01T01:00:00Z' }, ['bug']],
  [1002, 2, 'web', 'ann', '2024-01-31T23:30:00Z', { merged: '2024-02-01T00:10:00Z' }, ['feature', 'docs']],
  [1003, 3, 'core', 'bob', '2024-03-31T12:00:00Z', { closed: '2024-04-01T09:00:00Z' }, []],
  [1004, 4, 'lib', 'bob', '2024-02-10T10:00:00Z', null, []],
  [1005, 5, 'core', 'cat', '2024-05-05T10:00:00Z', { merged: '2024-07-10T10:00:00Z' }, ['bug']],
  [1006, 6, 'web', 'cat', '2024-08-01T10:00:00Z', { merged: '2024-08-03T10:00:00Z' }, []],
  [1007, 7, 'core', 'dan', '2024-03-03T10:00:00Z', { merged: '2024-03-04T10:00:00Z' }, ['bug']],
  [1008, 8, 'core', 'dan', '2024-10-15T10:00:00Z', null, []],
  [1009, 9, 'core', 'eve', '2024-02-20T10:00:00Z', { merged: '2024-03-01T10:00:00Z' }, ['bug', 'feature']],
  [1010, 10, 'lib', 'eve', '2024-11-11T10:00:00Z', { closed: '2024-12-01T10:00:00Z' }, []],
  [1011, 11, 'core', 'bot', '2024-02-02T10:00:00Z', { merged: '2024-02-03T10:00:00Z' }, ['bug']],
  [1012, 12, 'secret', 'ann', '2024-02-05T10:00:00Z', { merged: '2024-02-06T10:00:00Z' }, ['bug']],
  [1013, 13, 'core', 'fay', '2024-06-06T10:00:00Z', { merged: '2024-06-07T10:00:00Z' }, []],
  [1014, 14, 'web', 'gus', '2024-04-04T10:00:00Z', { merged: '2024-04-05T10:00:00Z' }, ['docs']],
  [1015, 15, 'core', 'ann', '2025-01-15T10:00:00Z', null, []],
  [1016, 16, 'web', 'bob', '2023-11-20T10:00:00Z', { merged: '2024-01-05T10:00:00Z' }, ['docs']],
  [1017, 17, 'lib', 'cat', '2024-01-10T10:00:00Z', { closed: '2024-01-12T10:00:00Z' }, ['bug']],
];

const plusHours = (iso, h) => new Date(Date.parse(iso) + h * 3600e3).toISOString().replace(/\.000Z$/, 'Z');

function snapshot(row, final) {
  const [id, number, repo, user, created, end, labels] = row;
  const f = { id, number, repo: REPOS[repo], user: U[user], created_at: created, labels: labels.map((l) => L[l]) };
  if (!final || !end) return makePR({ ...f, action: 'opened', state: 'open', updated_at: created, closed_at: null, merged_at: null, merged: false });
  if (end.merged) return makePR({ ...f, action: 'closed', state: 'closed', updated_at: end.merged, closed_at: end.merged, merged_at: end.merged, merged: true });
  return makePR({ ...f, action: 'closed', state: 'closed', updated_at: end.closed, closed_at: end.closed, merged_at: null, merged: false });
}

function finalPR(row) {
  const [id, number, repo, user, created, end, labels] = row;
  return { id, number, repo: REPOS[repo], user: U[user], created_at: created,
    state: end ? 'closed' : 'open', merged: Boolean(end && end.merged),
    merged_at: end && end.merged ? end.merged : null,
    closed_at: end ? (end.merged || end.closed) : null, labels: labels.map((l) => L[l]) };
}

let s, model, labelPoints, teams, rows;
const scenario = () => ({
  partnerOrg: 'acme', tracked: ['acme/core', 'acme/web', 'ext/lib'], exclude: ['staff'], mergedPoints: 2,
  teams, users: Object.values(U), intervals: INTERVALS, prs: rows.map(finalPR), labelPoints,
  labelColors: Object.fromEntries(Object.values(L).map((l) => [l.name, l.color])), now: new Date(),
});

async function hook(event, payload, opts = {}) {
  const r = await deliver(s, event, payload, { secret: SECRET, ...opts });
  assert.equal(r.status, 202, `${event}: ${r.text}`);
  return r.json;
}

async function get(path) {
  const r = await s.get(path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  assert.ok(r.headers.get('etag'), `${path}: no ETag`);
  assert.match(r.headers.get('cache-control') || '', /max-age=\d+/, `${path}: no max-age`);
  return r;
}

before(async () => {
  s = await startStack({
    sets: {
      'github.webhook_secret': SECRET,
      'github.partner_org': 'acme',
      'github.repositories': 'acme/core, acme/web, ext/lib',
      'github.exclude_teams': 'staff',
      'scoring.merged_points': '2',
      'api.admin_token': TOKEN,
      // the deliveries queue their PRs: the readers' folds are what these tests check
      'hook.roll_when_idle_ms': '0',
    },
  });
  teams = TEAMS.map((t) => ({ ...t }));
  rows = PRS.map((r) => [...r]);
  labelPoints = { bug: 3, feature: 5 };
  // teams and memberships, as GitHub announces them
  for (const t of TEAMS) {
    await hook('team', { action: 'created', team: { ...t }, organization: ORG, sender: U.ann });
  }
  for (const iv of INTERVALS) {
    const t = TEAMS.find((x) => x.id === iv.team);
    const u = Object.values(U).find((x) => x.id === iv.user);
    await hook('membership', { action: 'added', scope: 'team', member: u, team: { ...t }, organization: ORG, sender: U.ann });
  }
  // cat moves from alpha to beta (removed now, corrected below)
  await hook('membership', { action: 'removed', scope: 'team', member: U.cat, team: { ...TEAMS[0] }, organization: ORG, sender: U.ann });
  // the admin writes the history GitHub does not know (README "For admins")
  await s.sql(`UPDATE memberships SET started_at = NULL, ended_at = NULL, source = 'admin'`);
  await s.sql(`UPDATE memberships SET ended_at = '2024-07-01 00:00:00' WHERE user_id = 102 AND team_id = 10`);
  await s.sql(`UPDATE memberships SET started_at = '2024-07-01 00:00:00' WHERE user_id = 102 AND team_id = 11`);
  await s.sql(`UPDATE memberships SET ended_at = '2024-10-01 00:00:00' WHERE user_id = 103 AND team_id = 13`);
  await s.sql(`INSERT INTO label_points (label_name, points) VALUES ('bug', 3), ('feature', 5)`);
  // delta is deleted on GitHub: not ranked any more
  await hook('team', { action: 'deleted', team: { ...TEAMS[4] }, organization: ORG, sender: U.ann });
  teams.find((t) => t.slug === 'delta').deleted = true;

  // PR lifecycles: opened then closed, some out of order, some twice
  const outOfOrder = new Set([1002, 1003, 1009]);
  for (const row of rows) {
    const opened = snapshot(row, false), fin = snapshot(row, true);
    if (!row[5]) { await hook('pull_request', opened); continue; }
    if (outOfOrder.has(row[0])) {
      await hook('pull_request', fin);
      await hook('pull_request', opened);	// older: must not overwrite
    } else {
      await hook('pull_request', opened);
      const r = await hook('pull_request', fin);
      if (row[0] === 1005) {	// the same delivery again
        const again = await hook('pull_request', fin, { id: r.delivery });
        assert.equal(again.status, 'duplicate');
      }
    }
  }
  model = new Model(scenario());
});
after(() => s && s.stop());

const PERIODS = [
  ['all'], ['year', '2024'], ['year', '2023'], ['quarter', '2024-Q1'], ['quarter', '2024-Q3'],
  ['month', '2024-01'], ['month', '2024-02'], ['month', '2024-04'],
  ['range', null, '2024-01-15', '2024-04-10'], ['range', null, '2024-03-01', '2024-03-31'],
  ['range', null, '2023-12-31', '2024-01-01'],
];
const qs = ([kind, value, from, to]) => new URLSearchParams(
  Object.fromEntries(Object.entries({ period: kind, value, from, to }).filter(([, v]) => v))).toString();
const P = ([kind, value, from, to]) => period(kind, value, from, to);

test('the scenario landed: counted PRs and attributions as the model says', async () => {
  // the deliveries queued their PRs for the statistics (lib/rollup.h)
  const queued = await s.sql('SELECT pr_id FROM stat_queue ORDER BY pr_id');
  // the first API request folds them in and brings the rollups in line with the SQL edits
  await get('/api/leaderboard');
  assert.deepEqual(await s.sql('SELECT pr_id FROM stat_queue'), []);
  const after1 = await s.sql('SELECT pr_id FROM stat_pr ORDER BY pr_id');
  assert.deepEqual(after1.map((r) => Number(r[0])), model.prs.map((p) => p.id).sort((a, b) => a - b));
  assert.ok(queued.length > 0);
  const attr = await s.sql('SELECT pr_id, scope_id FROM stat_pr_scope WHERE kind = 0 ORDER BY pr_id, scope_id');
  const want = model.prs.flatMap((p) => [...p.teams].sort((a, b) => a - b).map((t) => [String(p.id), String(t)]));
  assert.deepEqual(attr, want);
});

test('leaderboard: every field, every period, every sort', async () => {
  // the scenario exercises what it claims: labels and points, a member of two
  // teams (totals count members once), a PR counted for two teams once
  const all = model.board(P(['all']));
  assert.ok(all.teams.some((t) => t.labels.length > 1 && t.merged > 1));
  assert.ok(all.totals.members < all.teams.reduce((n, t) => n + t.members, 0));
  assert.ok(all.totals.created < all.teams.reduce((n, t) => n + t.created, 0));
  for (const per of PERIODS) {
    for (const sort of ['merged', 'created', 'points', 'rejected']) {
      const r = await get(`/api/leaderboard?${qs(per)}&sort=${sort}`);
      assert.deepEqual(r.json, model.board(P(per), sort), `${qs(per)} sort=${sort}`);
    }
  }
  const lim = await get('/api/leaderboard?period=year&value=2024&limit=2');
  const full = model.board(P(['year', '2024']));
  assert.deepEqual(lim.json, { ...full, teams: full.teams.slice(0, 2) });
});

test('leaderboard.csv: the same rows, RFC 4180', async () => {
  for (const per of PERIODS.slice(0, 4)) {
    const r = await get(`/api/leaderboard.csv?${qs(per)}`);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    assert.ok(r.text.endsWith('\r\n'));
    const csv = parseCSV(r.text);
    assert.deepEqual(csv[0], ['rank', 'id', 'slug', 'name', 'members', 'created', 'merged', 'rejected',
      'open', 'partner_created', 'oss_created', 'points', 'labels']);
    const want = model.board(P(per)).teams.map((t) => [t.rank, t.id, t.slug, t.name, t.members, t.created,
      t.merged, t.rejected, t.open, t.partner_created, t.oss_created, t.points,
      t.labels.map((l) => `${l.name}:${l.count}`).join('; ')].map(String));
    assert.deepEqual(csv.slice(1), want, qs(per));
  }
});

test('teams/{slug}: row, members, per-repo counts and search links', async () => {
  for (const per of PERIODS) {
    for (const t of model.ranked) {
      const r = await get(`/api/teams/${t.slug}?${qs(per)}`);
      assert.deepEqual(r.json, model.team(t.slug, P(per)), `${t.slug} ${qs(per)}`);
    }
  }
  const sorted = await get('/api/teams/alpha?period=year&value=2024&sort=created');
  assert.deepEqual(sorted.json, model.team('alpha', P(['year', '2024']), 'created'));
  for (const slug of ['nope', 'staff', 'delta', 'a%2Fb']) {
    const r = await s.get(`/api/teams/${slug}`);
    assert.equal(r.status, 404, slug);
    assert.equal(r.json.error.code, 'not_found');
    assert.ok(r.headers.get('etag'));
  }
});

test('contributors: all authors or one team, sorts and limit', async () => {
  for (const per of PERIODS) {
    for (const team of [undefined, 'alpha', 'beta']) {
      const q = team ? `&team=${team}` : '';
      const r = await get(`/api/contributors?${qs(per)}${q}`);
      assert.deepEqual(r.json, model.contributors(P(per), { team }), `${qs(per)} ${team}`);
    }
  }
  const r = await get('/api/contributors?period=year&value=2024&sort=created&limit=3');
  assert.deepEqual(r.json, model.contributors(P(['year', '2024']), { sort: 'created', limit: 3 }));
  assert.equal((await s.get('/api/contributors?team=nope')).status, 404);
  assert.equal((await s.get('/api/contributors?sort=points')).status, 400);
});

test('stats/monthly: every row of three years, with and without team', async () => {
  for (const year of [2023, 2024, 2025]) {
    for (const team of [undefined, 'alpha', 'beta', 'gamma']) {
      const r = await get(`/api/stats/monthly?year=${year}${team ? `&team=${team}` : ''}`);
      assert.deepEqual(r.json, model.monthly(year, team), `${year} ${team}`);
    }
  }
  assert.equal((await s.get('/api/stats/monthly?year=2024&team=nope')).status, 404);
});

test('periods: newest first, from the first PR to this month', async () => {
  const r = await get('/api/periods');
  assert.deepEqual(r.json, model.periods());
});

// An answer of 512 bytes or more is also kept gzipped (docs/REFERENCE.md): a
// client that takes gzip (every browser) gets that form, with the same ETag;
// one that does not gets the answer as it is. node:http, unlike fetch, does
// not inflate: the bytes are checked as they arrive.
function raw(p, ae, method = 'GET') {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(s.url + p), { method, headers: ae === undefined ? {} : { 'accept-encoding': ae } }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('gzip: the same answer, compressed for the clients that take it', async () => {
  for (const p of ['/api/leaderboard', '/api/teams/alpha', '/api/contributors',
    '/api/stats/monthly?year=2024']) {
    const plain = await raw(p);	// no Accept-Encoding
    assert.equal(plain.status, 200, p);
    assert.equal(plain.headers['content-encoding'], undefined, p);
    assert.ok(plain.body.length >= 512, `${p}: ${plain.body.length} bytes, too small for the test`);
    assert.equal(Number(plain.headers['content-length']), plain.body.length, p);
    const z = await raw(p, 'gzip, deflate, br');
    assert.equal(z.status, 200, p);
    assert.equal(z.headers['content-encoding'], 'gzip', p);
    assert.match(z.headers.vary || '', /accept-encoding/i, p);
    assert.equal(Number(z.headers['content-length']), z.body.length, p);
    assert.ok(z.body.length < plain.body.length, p);
    assert.deepEqual(zlib.gunzipSync(z.body), plain.body, p);
    assert.equal(z.headers.etag, plain.headers.etag, p);
    // a revalidation of the gzip form
    const again = await raw(p, 'gzip');
    assert.deepEqual(again.body, z.body, p);
    const refused = await raw(p, 'gzip;q=0, identity');
    assert.equal(refused.headers['content-encoding'], undefined, p);
    assert.deepEqual(refused.body, plain.body, p);
    const head = await raw(p, 'gzip', 'HEAD');
    assert.equal(head.status, 200, p);
    assert.equal(head.headers['content-encoding'], 'gzip', p);
    assert.equal(Number(head.headers['content-length']), z.body.length, p);
    assert.equal(head.body.length, 0, p);
  }
});

test('ETag and 304 on every route; errors name the bad parameter', async () => {
  for (const path of ['/api/leaderboard', '/api/leaderboard.csv', '/api/teams/alpha', '/api/contributors',
    '/api/stats/monthly?year=2024', '/api/periods', '/api/health']) {
    const a = await s.get(path);
    assert.equal(a.status, 200, path);
    const b = await s.get(path, { 'If-None-Match': a.headers.get('etag') });
    assert.equal(b.status, 304, path);
    assert.equal(b.headers.get('etag'), a.headers.get('etag'));
  }
  const bad = [
    ['/api/leaderboard?period=month&value=2024-13', 'value'],
    ['/api/leaderboard?period=quarter&value=2024-Q5', 'value'],
    ['/api/leaderboard?period=range&from=2024-05-01&to=2024-04-01', 'from'],
    ['/api/leaderboard?period=range&from=2024-05-01', 'to'],
    ['/api/leaderboard?period=week', 'period'],
    ['/api/leaderboard?limit=ten', 'limit'],
    ['/api/leaderboard?limit=0', 'limit'],
    ['/api/leaderboard?sort=stars', 'sort'],
    ['/api/teams/alpha?period=year&value=24', 'value'],
    ['/api/contributors?limit=-1', 'limit'],
    ['/api/stats/monthly?year=20x4', 'year'],
    ['/api/leaderboard?period=%zz', 'period'],
  ];
  for (const [path, param] of bad) {
    const r = await s.get(path);
    assert.equal(r.status, 400, path);
    assert.equal(r.json.error.code, 'bad_parameter', path);
    assert.match(r.json.error.message, new RegExp(`^${param}\\b`), path);
    assert.ok(r.headers.get('etag'), path);
  }
});

test('admin routes need the bearer token', async () => {
  for (const path of ['/api/admin/jobs', '/api/admin/deliveries', '/api/admin/integrity']) {
    const no = await s.get(path);
    assert.equal(no.status, 401, path);
    assert.ok(no.headers.get('etag'), path);
    assert.match(no.headers.get('www-authenticate') || '', /^Bearer/, path);
    assert.equal((await s.get(path, { Authorization: `Bearer ${TOKEN}x` })).status, 401, path);
    assert.equal((await s.get(path, { Authorization: `Bearer ${TOKEN.slice(0, -1)}` })).status, 401, path);
    const ok = await s.get(path, { Authorization: `Bearer ${TOKEN}` });
    assert.equal(ok.status, 200, path);
    assert.ok(ok.headers.get('etag'));
  }
  const d = await s.get('/api/admin/deliveries', { Authorization: `Bearer ${TOKEN}` });
  const n = Number((await s.sql('SELECT COUNT(*) FROM deliveries'))[0][0]);
  assert.equal(d.json.deliveries.length, Math.min(n, 200));
  assert.deepEqual(Object.keys(d.json.deliveries[0]),
    ['id', 'event', 'action', 'hook_id', 'received_at', 'processed_at', 'outcome', 'error', 'content_type', 'size']);
  const f = await s.get('/api/admin/deliveries?failed=1', { Authorization: `Bearer ${TOKEN}` });
  assert.ok(f.json.deliveries.every((x) => x.outcome === 'failed'));
  const j = await s.get('/api/admin/jobs?state=bogus', { Authorization: `Bearer ${TOKEN}` });
  assert.equal(j.status, 400);
  const i = await s.get('/api/admin/integrity', { Authorization: `Bearer ${TOKEN}` });
  assert.deepEqual(i.json, { run: null, findings: [], unverified: [] });
});

test('500 random and malformed query strings: only 200/304/400/404', async () => {
  let seed = 12345;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const pick = (a) => a[rnd(a.length)];
  const routes = ['/api/leaderboard', '/api/leaderboard.csv', '/api/teams/alpha', '/api/teams/', '/api/teams/%00',
    '/api/contributors', '/api/stats/monthly', '/api/periods', '/api/teams/beta'];
  const keys = ['period', 'value', 'from', 'to', 'sort', 'limit', 'team', 'year', 'x', '', '%', 'period[]'];
  const vals = ['month', 'quarter', 'year', 'range', 'all', '2024-03', '2024-Q1', '2024', '2024-02-29',
    '2023-02-29', '9999-12-31', '1969-12-31', '-1', '0', '99999999999999999999', 'merged', 'points',
    '%', '%zz', '%00', '%E2%82%AC', "'; DROP TABLE teams; --", 'a'.repeat(300), '', '+', '%2B', 'alpha',
    'nope', '2024-13', '2024-Q5', '10000'];
  const seen = new Set();
  for (let i = 0; i < 500; i++) {
    const n = rnd(5);
    const parts = [];
    for (let k = 0; k < n; k++) {
      const key = pick(keys);
      parts.push(rnd(6) === 0 ? key : `${key}=${pick(vals)}`);
    }
    if (rnd(10) === 0) parts.push('&&=&');
    const path = `${pick(routes)}?${parts.join('&')}`;
    const r = await s.get(path);
    assert.ok([200, 304, 400, 404].includes(r.status), `${path} -> ${r.status} ${r.text.slice(0, 200)}`);
    if (r.status !== 200 && r.json) assert.ok(r.json.error && r.json.error.code, path);
    seen.add(r.status);
  }
  assert.ok(seen.has(200) && seen.has(400));
  // the API is still healthy
  assert.equal((await s.get('/api/health')).json.status, 'ok');
});

test('later webhooks queue their PRs; the next answer folds them in (no rebuild)', async () => {
  const [[built, version]] = await s.sql('SELECT built_at, (SELECT COALESCE(SUM(v), 0) FROM stat_version) FROM stat_state WHERE id = 1');
  // bob's open lib PR gets merged with a label; eve opens and merges a new one
  const r4 = rows.find((r) => r[0] === 1004);
  r4[5] = { merged: '2024-06-20T10:00:00Z' };
  r4[6] = ['feature'];
  await hook('pull_request', snapshot(r4, true));
  const r18 = [1018, 18, 'web', 'eve', '2024-09-09T10:00:00Z', { merged: '2024-09-10T10:00:00Z' }, ['bug']];
  rows.push(r18);
  await hook('pull_request', snapshot(r18, false));
  await hook('pull_request', snapshot(r18, true));
  // a label added after the merge (newer snapshot, same state)
  const r6 = rows.find((r) => r[0] === 1006);
  r6[6] = ['docs'];
  const labeled = snapshot(r6, true);
  labeled.action = 'labeled';
  labeled.pull_request.updated_at = plusHours(r6[5].merged, 1);
  await hook('pull_request', labeled);
  const queued = await s.sql('SELECT pr_id FROM stat_queue ORDER BY pr_id');
  assert.deepEqual(queued.map((r) => Number(r[0])), [1004, 1006, 1018]);
  model = new Model(scenario());
  for (const per of [['all'], ['year', '2024'], ['quarter', '2024-Q2'], ['month', '2024-06'], ['month', '2024-09']]) {
    assert.deepEqual((await get(`/api/leaderboard?${qs(per)}`)).json, model.board(P(per)), qs(per));
    assert.deepEqual((await get(`/api/contributors?${qs(per)}`)).json, model.contributors(P(per)), qs(per));
    assert.deepEqual((await get(`/api/teams/beta?${qs(per)}`)).json, model.team('beta', P(per)), qs(per));
  }
  assert.deepEqual((await get('/api/stats/monthly?year=2024')).json, model.monthly(2024));
  assert.deepEqual((await get('/api/stats/monthly?year=2024&team=gamma')).json, model.monthly(2024, 'gamma'));
  const [[built2, version2]] = await s.sql('SELECT built_at, (SELECT COALESCE(SUM(v), 0) FROM stat_version) FROM stat_state WHERE id = 1');
  assert.equal(built2, built, 'incremental updates must not rebuild');
  assert.ok(Number(version2) > Number(version));
  assert.deepEqual(await s.sql('SELECT pr_id FROM stat_queue'), []);
});

test('label points edited with SQL count at once; a deleted team leaves the ranking', async () => {
  await s.sql(`UPDATE label_points SET points = 4 WHERE label_name = 'bug'`);
  await s.sql(`INSERT INTO label_points (label_name, points) VALUES ('docs', 1)`);
  labelPoints = { bug: 4, feature: 5, docs: 1 };
  model = new Model(scenario());
  for (const per of [['all'], ['year', '2024'], ['range', null, '2024-02-15', '2024-09-30']]) {
    assert.deepEqual((await get(`/api/leaderboard?${qs(per)}&sort=points`)).json, model.board(P(per), 'points'));
  }
  await hook('team', { action: 'deleted', team: { ...TEAMS[2] }, organization: ORG, sender: U.ann });
  teams.find((t) => t.slug === 'gamma').deleted = true;
  model = new Model(scenario());
  // a changed set of deleted teams makes lb-api rebuild within a few seconds
  const want = model.board(P(['all']));
  const deadline = Date.now() + 15000;
  let got;
  do {
    got = (await get('/api/leaderboard')).json;
    if (JSON.stringify(got) === JSON.stringify(want)) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  assert.deepEqual(got, want);
  assert.equal((await s.get('/api/teams/gamma')).status, 404);
  assert.deepEqual((await get('/api/contributors')).json, model.contributors(P(['all'])));
});
