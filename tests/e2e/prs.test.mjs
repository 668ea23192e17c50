// Every number explains itself (issue 21): /api/prs lists exactly the PRs
// behind each number of the leaderboard, team drill-down, contributors and
// monthly table, with the membership interval that attributed each;
// /api/prs/{owner}/{repo}/{number} tells one PR's story with the reason it
// counts for no team; pr_history keeps the deliveries that changed a PR;
// late changes to settled months are recorded with old and new values.
// Expected lists and reasons come from tests/e2e/api-model.mjs over the
// scenario below (a PR of every reason class), never from the program.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { deliver, makePR } from './webhooks.mjs';
import { Model, period, parseCSV } from './api-model.mjs';

const SECRET = 'prs-test-secret';
const TOKEN = 'admin-token-prs';
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
  { id: 14, slug: 'delta', name: 'Delta', deleted: true },
];
const U = {
  ann: { id: 100, login: 'ann', type: 'User' },
  bob: { id: 101, login: 'bob', type: 'User' },
  cat: { id: 102, login: 'cat', type: 'User' },
  dan: { id: 103, login: 'dan', type: 'User' },
  eve: { id: 104, login: 'eve', type: 'User' },
  bot: { id: 105, login: 'helper[bot]', type: 'Bot' },
  fay: { id: 106, login: 'fay', type: 'User' },
  gus: { id: 107, login: 'gus', type: 'User' },
  hal: { id: 108, login: 'hal', type: 'User' },
};
const L = {
  bug: { id: 1, name: 'bug', color: 'd73a4a' },
  feature: { id: 2, name: 'feature', color: 'a2eeef' },
  docs: { id: 3, name: 'docs', color: '0075ca' },
};
// The membership history as the admin wrote it ([start, end), null = open).
const INTERVALS = [
  { team: 10, user: 100, start: null, end: null, source: 'sync' },
  { team: 11, user: 101, start: null, end: null, source: 'sync' },
  { team: 10, user: 102, start: null, end: '2024-07-01T00:00:00Z', source: 'admin' },
  { team: 11, user: 102, start: '2024-07-01T00:00:00Z', end: null, source: 'webhook' },
  { team: 13, user: 103, start: null, end: '2024-10-01T00:00:00Z', source: 'sync' },
  { team: 10, user: 103, start: null, end: null, source: 'sync' },
  { team: 10, user: 104, start: null, end: null, source: 'sync' },
  { team: 12, user: 104, start: null, end: null, source: 'sync' },
  { team: 10, user: 105, start: null, end: null, source: 'sync' },
  { team: 14, user: 107, start: null, end: null, source: 'sync' },
  { team: 12, user: 108, start: '2024-05-01T00:00:00Z', end: null, source: 'webhook' },
];
const sqlTime = (iso) => (iso == null ? 'NULL' : `'${iso.replace('T', ' ').replace('Z', '')}'`);

// [id, number, repo, user, created, end, labels, title]; end: null (open),
// {merged: t} or {closed: t}.
const PRS = [
  [1001, 1, 'core', 'ann', '2023-12-31T22:00:00Z', { merged: '2024-01-01T01:00:00Z' }, ['bug'], 'Fix the parser'],
  [1002, 2, 'web', 'ann', '2024-01-31T23:30:00Z', { merged: '2024-02-01T00:10:00Z' }, ['feature', 'docs'], 'Add "export", with CSV'],
  [1003, 3, 'core', 'bob', '2024-03-31T12:00:00Z', { closed: '2024-04-01T09:00:00Z' }, [], '=HYPERLINK("http://x")'],
  [1004, 4, 'lib', 'bob', '2024-02-10T10:00:00Z', null, [], 'Port to ext'],
  [1005, 5, 'core', 'cat', '2024-05-05T10:00:00Z', { merged: '2024-07-10T10:00:00Z' }, ['bug'], 'Cat in alpha'],
  [1006, 6, 'web', 'cat', '2024-08-01T10:00:00Z', { merged: '2024-08-03T10:00:00Z' }, [], 'Cat in beta'],
  [1007, 7, 'core', 'dan', '2024-03-03T10:00:00Z', { merged: '2024-03-04T10:00:00Z' }, ['bug'], 'Staff work'],
  [1008, 8, 'core', 'dan', '2024-10-15T10:00:00Z', null, [], 'Dan after staff'],
  [1009, 9, 'core', 'eve', '2024-02-20T10:00:00Z', { merged: '2024-03-01T10:00:00Z' }, ['bug', 'feature'], 'Eve two teams'],
  [1010, 10, 'lib', 'eve', '2024-11-11T10:00:00Z', { closed: '2024-12-01T10:00:00Z' }, [], 'Eve rejected'],
  [1011, 11, 'core', 'bot', '2024-02-02T10:00:00Z', { merged: '2024-02-03T10:00:00Z' }, ['bug'], 'Bump deps'],
  [1012, 12, 'secret', 'ann', '2024-02-05T10:00:00Z', { merged: '2024-02-06T10:00:00Z' }, ['bug'], 'Untracked'],
  [1013, 13, 'core', 'fay', '2024-06-06T10:00:00Z', { merged: '2024-06-07T10:00:00Z' }, [], 'No team'],
  [1014, 14, 'web', 'gus', '2024-04-04T10:00:00Z', { merged: '2024-04-05T10:00:00Z' }, ['docs'], 'Deleted team'],
  [1015, 15, 'core', 'ann', '2025-01-15T10:00:00Z', null, [], 'Next year'],
  [1016, 16, 'web', 'bob', '2023-11-20T10:00:00Z', { merged: '2024-01-05T10:00:00Z' }, ['docs'], 'Long review'],
  [1017, 17, 'lib', 'cat', '2024-01-10T10:00:00Z', { closed: '2024-01-12T10:00:00Z' }, ['bug'], 'Cat rejected'],
  [1018, 18, 'core', 'hal', '2024-03-15T10:00:00Z', { merged: '2024-03-20T10:00:00Z' }, [], 'Before joining'],
  [1019, 19, 'web', 'hal', '2024-06-15T10:00:00Z', { merged: '2024-06-16T10:00:00Z' }, ['feature'], 'After joining'],
];

function snapshot(row, final) {
  const [id, number, repo, user, created, end, labels, title] = row;
  const f = { id, number, title, repo: REPOS[repo], user: U[user], created_at: created, labels: labels.map((l) => L[l]) };
  if (!final || !end) return makePR({ ...f, action: 'opened', state: 'open', updated_at: created, closed_at: null, merged_at: null, merged: false });
  if (end.merged) return makePR({ ...f, action: 'closed', state: 'closed', updated_at: end.merged, closed_at: end.merged, merged_at: end.merged, merged: true });
  return makePR({ ...f, action: 'closed', state: 'closed', updated_at: end.closed, closed_at: end.closed, merged_at: null, merged: false });
}

function finalPR(row) {
  const [id, number, repo, user, created, end, labels, title] = row;
  return { id, number, title, repo: REPOS[repo], user: U[user], created_at: created,
    state: end ? 'closed' : 'open', merged: Boolean(end && end.merged),
    merged_at: end && end.merged ? end.merged : null,
    closed_at: end ? (end.merged || end.closed) : null, labels: labels.map((l) => L[l]) };
}

const LABEL_POINTS = { bug: 3, feature: 5 };
const MERGED_POINTS = 2;
let s, model, rows;
const history = new Map();	// pr id -> [{ref, action, change}] the deliveries that changed it
const scenario = () => ({
  partnerOrg: 'acme', tracked: ['acme/core', 'acme/web', 'ext/lib'], exclude: ['staff'], mergedPoints: MERGED_POINTS,
  teams: TEAMS, users: Object.values(U), intervals: INTERVALS, prs: rows.map(finalPR), labelPoints: LABEL_POINTS,
  labelColors: Object.fromEntries(Object.values(L).map((l) => [l.name, l.color])), now: new Date(),
});

async function hook(event, payload, opts = {}) {
  const r = await deliver(s, event, payload, { secret: SECRET, ...opts });
  assert.equal(r.status, 202, `${event}: ${r.text}`);
  return r.json;
}

// A PR delivery; change says what it must leave in pr_history (null: nothing).
async function prHook(payload, change, opts) {
  const r = await hook('pull_request', payload, opts);
  const id = payload.pull_request.id;
  if (!history.has(id)) history.set(id, []);
  if (change) history.get(id).push({ ref: r.delivery, action: payload.action, change });
  return r;
}

async function get(path, headers) {
  const r = await s.get(path, headers);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  assert.ok(r.headers.get('etag'), `${path}: no ETag`);
  return r;
}

before(async () => {
  s = await startStack({
    sets: {
      'github.webhook_secret': SECRET,
      'github.partner_org': 'acme',
      'github.repositories': 'acme/core, acme/web, ext/lib',
      'github.exclude_teams': 'staff',
      'scoring.merged_points': String(MERGED_POINTS),
      'api.admin_token': TOKEN,
      'stats.settle_days': '7',
    },
  });
  rows = PRS.map((r) => [...r]);
  for (const t of TEAMS) {
    const { deleted: _d, ...team } = t;
    await hook('team', { action: 'created', team, organization: ORG, sender: U.ann });
  }
  for (const u of Object.values(U)) {
    await hook('membership', { action: 'added', scope: 'team', member: u, team: { ...TEAMS[0] }, organization: ORG, sender: U.ann });
  }
  // delta is deleted on GitHub (before the history below: it ends open memberships)
  await hook('team', { action: 'deleted', team: { id: 14, slug: 'delta', name: 'Delta' }, organization: ORG, sender: U.ann });
  // the admin writes the history GitHub does not know (README "For admins")
  await s.sql('DELETE FROM memberships');
  await s.sql(`INSERT INTO memberships (team_id, user_id, started_at, ended_at, source) VALUES ${INTERVALS.map((iv) =>
    `(${iv.team}, ${iv.user}, ${sqlTime(iv.start)}, ${sqlTime(iv.end)}, '${iv.source}')`).join(', ')}`);
  await s.sql(`INSERT INTO label_points (label_name, points) VALUES ('bug', 3), ('feature', 5)`);

  const outOfOrder = new Set([1002, 1003, 1009]);
  for (const row of rows) {
    const opened = snapshot(row, false), fin = snapshot(row, true);
    if (!row[5]) { await prHook(opened, 'inserted'); continue; }
    if (outOfOrder.has(row[0])) {
      await prHook(fin, 'inserted');
      await prHook(opened, null);	// older: stale, changes nothing
    } else {
      await prHook(opened, 'inserted');
      const r = await prHook(fin, 'updated');
      if (row[0] === 1005) {
        const again = await hook('pull_request', fin, { id: r.delivery });	// the same delivery
        assert.equal(again.status, 'duplicate');
        await prHook(fin, null);	// the same snapshot under a new delivery id: unchanged
      }
    }
  }
  model = new Model(scenario());
});
after(() => s && s.stop());

const PERIODS = [
  ['all'], ['year', '2024'], ['quarter', '2024-Q1'], ['month', '2024-02'], ['month', '2024-07'],
  ['range', null, '2024-01-15', '2024-04-10'],
];
const qs = ([kind, value, from, to]) => new URLSearchParams(
  Object.fromEntries(Object.entries({ period: kind, value, from, to }).filter(([, v]) => v))).toString();
const P = ([kind, value, from, to]) => period(kind, value, from, to);
const METRICS = ['created', 'merged', 'rejected', 'open', 'points', 'partner_created', 'oss_created', 'processed', 'outstanding'];

// What the API must say about one PR of the model.
function wantItem(p, why) {
  const labels = [...p.labelObjs].sort((x, y) => (x.name < y.name ? -1 : 1))
    .map((l) => ({ name: l.name, color: l.color, points: LABEL_POINTS[l.name] || 0 }));
  return {
    id: p.id, repo: p.repo, number: p.number, title: p.title,
    url: `https://github.com/${p.repo}/pull/${p.number}`, author: p.login, author_id: p.author,
    state: p.state, merged: p.mergedFlag, draft: false, created_at: p.created_at, merged_at: p.merged_at,
    closed_at: p.closed_at, labels,
    points: p.mergedFlag ? MERGED_POINTS + labels.reduce((n, l) => n + l.points, 0) : 0,
    why: why.map((iv) => {
      const t = TEAMS.find((x) => x.id === iv.team);
      return { team: t.slug, team_name: t.name, from: iv.start, to: iv.end, source: iv.source };
    }).sort((x, y) => (x.team < y.team ? -1 : 1)),
  };
}
const strip = (item) => ({ ...item, why: item.why.map(({ membership_id: _m, note: _n, ...w }) => w) });

async function list(params) {
  const r = await get(`/api/prs?${new URLSearchParams({ per_page: '500', ...params })}`);
  return r.json;
}

test('the list behind every leaderboard and drill-down number has exactly its PRs, each with why', async () => {
  await get('/api/leaderboard');	// folds and rebuilds after the admin's SQL
  for (const per of PERIODS) {
    const board = model.board(P(per));
    for (const row of board.teams) {
      for (const metric of METRICS) {
        const got = await list({ ...Object.fromEntries(new URLSearchParams(qs(per))), team: row.slug, metric });
        const want = model.prsBehind({ team: row.slug }, P(per), metric);
        assert.deepEqual(got.prs.map(strip), want.map((p) => wantItem(p, p.why)), `${row.slug} ${metric} ${qs(per)}`);
        assert.equal(got.total, want.length);
        if (row[metric] !== undefined) assert.equal(got.total, metric === 'points' ? row.merged : row[metric], `${row.slug} ${metric}`);
        // the points list also says the points it makes: the leaderboard's number
        assert.equal(got.points, metric === 'points' ? row.points : null, `${row.slug} ${metric} points`);
        for (const p of got.prs) assert.ok(p.why.length >= 1, `${p.id}: a team's PR has its membership`);
      }
      // the drill-down: each member's numbers
      const team = model.team(row.slug, P(per));
      for (const m of team.members) {
        for (const metric of ['created', 'merged', 'rejected']) {
          const got = await list({ ...Object.fromEntries(new URLSearchParams(qs(per))), team: row.slug, author: m.login, metric });
          assert.deepEqual(got.prs.map((p) => p.id), model.prsBehind({ team: row.slug, author: m.login }, P(per), metric).map((p) => p.id));
          assert.equal(got.total, m[metric], `${row.slug}/${m.login} ${metric}`);
        }
      }
    }
    // the totals row: the partner program
    for (const metric of ['created', 'merged', 'rejected', 'open', 'partner_created', 'oss_created', 'points']) {
      const got = await list({ ...Object.fromEntries(new URLSearchParams(qs(per))), scope: 'partner', metric });
      const want = model.prsBehind({ partner: true }, P(per), metric);
      assert.deepEqual(got.prs.map(strip), want.map((p) => wantItem(p, p.why)), `partner ${metric} ${qs(per)}`);
      assert.equal(got.total, metric === 'points' ? board.totals.merged : board.totals[metric]);
      if (metric === 'points') assert.equal(got.points, board.totals.points, `partner points ${qs(per)}`);
    }
  }
});

test('contributors and the monthly table: the lists behind their numbers', async () => {
  for (const per of PERIODS) {
    for (const c of model.contributors(P(per)).contributors) {
      for (const metric of ['created', 'merged', 'rejected']) {
        const got = await list({ ...Object.fromEntries(new URLSearchParams(qs(per))), author: c.login, metric });
        assert.deepEqual(got.prs.map((p) => p.id), model.prsBehind({ author: c.login }, P(per), metric).map((p) => p.id));
        assert.equal(got.total, c[metric], `${c.login} ${metric} ${qs(per)}`);
      }
    }
  }
  for (const team of [undefined, 'alpha', 'beta']) {
    const m = model.monthly(2024, team);
    for (const month of m.months) {
      for (const metric of ['created', 'merged', 'rejected', 'processed', 'outstanding']) {
        const got = await list({ period: 'month', value: month, metric, ...(team ? { team } : {}) });
        const want = model.prsBehind({ team }, P(['month', month]), metric);
        assert.deepEqual(got.prs.map((p) => p.id), want.map((p) => p.id), `${team} ${month} ${metric}`);
        assert.equal(got.total, m.rows[metric][month], `${team} ${month} ${metric}`);
      }
    }
  }
});

test('paging, order, next links and parameter errors', async () => {
  const all = await list({ metric: 'created' });
  assert.ok(all.total >= 10);
  let got = [], page = await get('/api/prs?metric=created&per_page=3');
  assert.equal(page.json.per_page, 3);
  assert.equal(page.json.pages, Math.ceil(all.total / 3));
  for (;;) {
    got = got.concat(page.json.prs.map((p) => p.id));
    if (!page.json.next) break;
    page = await get(page.json.next);
  }
  assert.deepEqual(got, all.prs.map((p) => p.id));
  const asc = await list({ metric: 'created', order: 'asc' });
  assert.deepEqual(asc.prs.map((p) => p.id), [...got].reverse());
  for (const [q, code] of [['metric=bogus', 400], ['', 400], ['metric=merged&team=nope', 404],
    ['metric=merged&author=nobody', 404], ['metric=merged&per_page=501', 400], ['metric=merged&page=0', 400],
    ['metric=merged&scope=x', 400], ['metric=merged&order=up', 400], ['metric=merged&team=staff', 404],
    ['metric=merged&team=delta', 404], ['metric=merged&period=month&value=2024-13', 400]]) {
    const r = await s.get(`/api/prs?${q}`);
    assert.equal(r.status, code, `${q}: ${r.text}`);
    assert.ok(r.json.error.code, q);
  }
  const r = await s.get('/api/prs?metric=merged');
  assert.equal((await s.get('/api/prs?metric=merged', { 'If-None-Match': r.headers.get('etag') })).status, 304);
});

test('prs.csv: the same PRs, RFC 4180, formula cells defused', async () => {
  for (const [team, metric] of [['beta', 'rejected'], ['alpha', 'merged'], [undefined, 'created']]) {
    const r = await get(`/api/prs.csv?metric=${metric}&period=year&value=2024${team ? `&team=${team}` : ''}`);
    assert.match(r.headers.get('content-type'), /^text\/csv/);
    const csv = parseCSV(r.text);
    assert.deepEqual(csv[0], ['repo', 'number', 'title', 'author', 'state', 'merged', 'created_at', 'merged_at',
      'closed_at', 'labels', 'points', 'why', 'url']);
    const want = model.prsBehind({ team }, P(['year', '2024']), metric).map((p) => {
      const w = wantItem(p, p.why);
      const t = w.title;
      return [w.repo, String(w.number), /^[=+\-@]/.test(t) ? `'${t}` : t, w.author, w.state, String(w.merged),
        w.created_at, w.merged_at ?? '', w.closed_at ?? '',
        w.labels.map((l) => `${l.name}:${l.points}`).join('; '), String(w.points),
        w.why.map((x) => `${x.team} ${x.from ?? 'always'}..${x.to ?? 'now'} (${x.source})`).join('; '), w.url];
    });
    assert.deepEqual(csv.slice(1), want, `${team} ${metric}`);
  }
  const r = await get('/api/prs.csv?metric=rejected&team=beta&period=year&value=2024');
  assert.ok(r.text.includes(`"'=HYPERLINK(""http://x"")"`), r.text);
});

test('a PR of every reason class: the story says whether and why it counts', async () => {
  const cases = [
    [1001, ['alpha'], []],			// member of alpha since always
    [1005, ['alpha'], []],			// cat before moving to beta
    [1006, ['beta'], []],			// cat after moving
    [1009, ['alpha', 'gamma'], []],		// a member of two teams counts for both
    [1011, [], ['bot']],
    [1012, [], ['untracked_repository']],
    [1007, [], ['excluded_team']],		// dan was staff when he created it
    [1013, [], ['not_member_when_created']],	// fay: no team at all
    [1014, [], ['not_member_when_created']],	// gus: only a deleted team
    [1018, [], ['not_member_when_created']],	// hal joined gamma after creating it
    [1019, ['gamma'], []],
  ];
  for (const [id, teams, reasons] of cases) {
    const row = rows.find((r) => r[0] === id);
    const full = `${REPOS[row[2]].owner.login}/${REPOS[row[2]].name}`;
    const st = (await get(`/api/prs/${full}/${row[1]}`)).json;
    assert.deepEqual(st.reasons.map((x) => x.code), model.reasons(id), `${id}`);
    assert.deepEqual(st.reasons.map((x) => x.code), reasons, `${id}`);
    assert.deepEqual(st.counts_for, teams, `${id}`);
    const mp = model.prs.find((p) => p.id === id);
    assert.deepEqual(st.counts_for, mp ? mp.teams.map((t) => TEAMS.find((x) => x.id === t).slug).sort() : []);
    assert.equal(st.counted, Boolean(mp), `${id}`);
    for (const r of st.reasons) assert.ok(r.message.length > 10);
    // every team of the author's history: counts, or why not
    const ivs = INTERVALS.filter((iv) => iv.user === U[row[3]].id);
    assert.deepEqual(st.teams.map((t) => t.team), [...new Set(ivs.map((iv) => TEAMS.find((t) => t.id === iv.team).slug))].sort());
    for (const t of st.teams) {
      assert.equal(t.counts, teams.includes(t.team), `${id} ${t.team}`);
      if (t.counts) assert.equal(t.reason, null);
      else assert.ok(t.reason, `${id} ${t.team}`);
      for (const m of t.memberships) {
        const iv = ivs.find((x) => TEAMS.find((y) => y.id === x.team).slug === t.team && x.start === m.from && x.end === m.to);
        assert.ok(iv, `${id} ${t.team} ${m.from}`);
        assert.equal(m.source, iv.source);
        const c = Date.parse(row[4]);
        assert.equal(m.at_creation, (iv.start == null || Date.parse(iv.start) <= c) && (iv.end == null || Date.parse(iv.end) > c));
      }
    }
    if (id === 1007) assert.equal(st.teams.find((t) => t.team === 'staff').reason, 'team_excluded');
    if (id === 1014) assert.equal(st.teams.find((t) => t.team === 'delta').reason, 'team_deleted');
    if (id === 1018) assert.equal(st.teams.find((t) => t.team === 'gamma').reason, 'not_member_when_created');
    assert.equal(st.pr.number, row[1]);
    assert.equal(st.pr.repo, full);
    assert.equal(st.pr.tracked, row[2] !== 'secret');
  }
  // with a period: created outside it
  const st = (await get('/api/prs/acme/web/16?period=year&value=2024')).json;
  assert.deepEqual(st.reasons.map((x) => x.code), model.reasons(1016, P(['year', '2024'])));
  assert.deepEqual(st.reasons.map((x) => x.code), ['created_outside_period']);
  assert.deepEqual(st.in_period, { created: false, merged: true, rejected: false });
  assert.equal((await s.get('/api/prs/acme/web/999')).status, 404);
  assert.equal((await s.get('/api/prs/acme/web')).status, 404);
  assert.equal((await s.get('/api/prs/acme/web/x')).status, 404);
  assert.ok([400, 404].includes((await s.get('/api/prs/a%00b/web/1')).status));
});

test('history: the deliveries that changed a PR, none for stale, duplicate or unchanged ones', async () => {
  for (const row of rows) {
    const full = `${REPOS[row[2]].owner.login}/${REPOS[row[2]].name}`;
    const st = (await get(`/api/prs/${full}/${row[1]}`)).json;
    assert.deepEqual(st.history.map((h) => ({ ref: h.ref, action: h.action, change: h.change })), history.get(row[0]), `${row[0]}`);
    for (const h of st.history) {
      assert.equal(h.source, 'webhook');
      assert.match(h.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  }
  const st = (await get('/api/prs/acme/core/5')).json;
  assert.deepEqual(st.history.map((h) => [h.state, h.merged, h.updated_at]),
    [['open', false, '2024-05-05T10:00:00Z'], ['closed', true, '2024-07-10T10:00:00Z']]);
});

// ---- late changes ----

// Every monthly counter of 2023..2025 per scope, from the model.
function monthCounters(m) {
  const out = new Map();
  const scopes = [['all', () => true], ['partner', (p) => p.teams.length > 0],
    ...m.ranked.map((t) => [t.slug, (p) => p.teams.includes(t.id)])];
  for (let y = 2023; y <= 2025; y++) {
    for (let mo = 1; mo <= 12; mo++) {
      const month = `${y}-${String(mo).padStart(2, '0')}`;
      const Pm = period('month', month);
      const inP = (t) => t != null && t >= Pm.a && t < Pm.b;
      for (const [scope, f] of scopes) {
        const prs = m.prs.filter(f);
        const c = m.counts(prs, Pm);
        const vals = { created: c.created, merged: c.merged, rejected: c.rejected, open: c.open,
          partner_created: c.partner_created, oss_created: c.oss_created, members: c.members,
          contributors: new Set(prs.filter((p) => inP(p.created)).map((p) => p.author)).size };
        for (const l of c.labels) vals[`label:${l.name}`] = l.count;
        out.set(`${month}|${scope}`, vals);
      }
    }
  }
  return out;
}
function diff(before, afterM, pr) {
  const out = [];
  for (const [k, a] of afterM) {
    const b = before.get(k);
    for (const metric of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if ((b[metric] || 0) !== (a[metric] || 0)) {
        const [month, scope] = k.split('|');
        out.push({ month, scope, metric, old: b[metric] || 0, new: a[metric] || 0, pr });
      }
    }
  }
  return out;
}
const key = (c) => `${c.month}|${c.scope}|${c.metric}|${c.old}|${c.new}|${c.pr}`;
async function changes() {
  const r = await get('/api/admin/changes?limit=10000', { Authorization: `Bearer ${TOKEN}` });
  return r.json.changes.map((c) => ({ month: c.month, scope: c.scope === 'team' ? c.team : c.scope,
    metric: c.metric, old: c.old, new: c.new, pr: c.repo ? `${c.repo}#${c.number}` : null }));
}

test('late changes: a settled month that changes is recorded with its old and new values', async () => {
  // the first import wrote none (new PRs of a repository never synced)
  assert.deepEqual(await changes(), []);
  const before = monthCounters(model);
  // bob's open ext/lib PR of February is merged in June with a label
  const r4 = rows.find((r) => r[0] === 1004);
  r4[5] = { merged: '2024-06-20T10:00:00Z' };
  r4[6] = ['feature'];
  await prHook(snapshot(r4, true), 'updated');
  model = new Model(scenario());
  await get('/api/leaderboard');	// folds the change
  const want = diff(before, monthCounters(model), 'ext/lib#4');
  assert.ok(want.some((c) => c.month === '2024-06' && c.scope === 'beta' && c.metric === 'merged'));
  assert.ok(want.some((c) => c.month === '2024-02' && c.metric === 'open'));
  assert.deepEqual((await changes()).map(key).sort(), want.map(key).sort());

  // a change of this month is not late; nor a new PR of a settled month
  // while its repository was never synced
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const fresh = [1020, 20, 'core', 'ann', now, null, [], 'Today'];
  const old = [1021, 21, 'web', 'ann', '2024-09-09T10:00:00Z', { merged: '2024-09-10T10:00:00Z' }, [], 'Found late'];
  rows.push(fresh, old);
  await prHook(snapshot(fresh, false), 'inserted');
  await prHook(snapshot(old, true), 'inserted');
  model = new Model(scenario());
  await get('/api/leaderboard');
  assert.equal((await changes()).length, want.length);
  // once acme/web's history was imported, a PR found later is a late change
  const before2 = monthCounters(model);
  await s.sql(`INSERT INTO sync_state (name, watermark, last_finished_at, last_status) VALUES ('prs:acme/web', UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), 'ok')`);
  const found = [1022, 22, 'web', 'bob', '2024-09-12T10:00:00Z', { merged: '2024-09-13T10:00:00Z' }, ['docs'], 'Missing from September'];
  rows.push(found);
  await prHook(snapshot(found, true), 'inserted');
  model = new Model(scenario());
  await get('/api/leaderboard');
  const want2 = diff(before2, monthCounters(model), 'acme/web#22');
  assert.ok(want2.some((c) => c.month === '2024-09' && c.scope === 'beta' && c.metric === 'merged' && c.old === 0 && c.new === 1));
  const got = await changes();
  assert.deepEqual(got.slice(0, want2.length).map(key).sort(), want2.map(key).sort());
  assert.equal(got.length, want.length + want2.length);

  // the same list in lb-admin, and the admin route needs the token
  const out = await s.admin(['changes', '--month', '2024-09']);
  assert.equal(out.code, 0, out.stderr);
  const lines = out.stdout.trim().split('\n');
  assert.equal(lines[0], 'CHANGED\tMONTH\tSCOPE\tMETRIC\tOLD\tNEW\tPR');
  assert.deepEqual(lines.slice(1).map((l) => { const f = l.split('\t'); return `${f[1]}|${f[2]}|${f[3]}|${f[4]}|${f[5]}|${f[6]}`; }).sort(),
    want2.filter((c) => c.month === '2024-09').map((c) => `${c.month}|${c.scope}|${c.metric}|${c.old}|${c.new}|${c.pr}`).sort());
  assert.equal((await s.admin(['changes', '--month', 'bogus'])).code, 2);
  assert.equal((await s.get('/api/admin/changes')).status, 401);
  assert.equal((await s.get('/api/admin/changes', { Authorization: 'Bearer wrong' })).status, 401);
  const m = await get('/api/admin/changes?month=2024-06', { Authorization: `Bearer ${TOKEN}` });
  assert.equal(m.json.settle_days, 7);
  assert.ok(m.json.changes.length > 0 && m.json.changes.every((c) => c.month === '2024-06'));
  assert.equal((await s.get('/api/admin/changes?month=2024-6', { Authorization: `Bearer ${TOKEN}` })).status, 400);
});

test('late changes of an admin\'s SQL correction: the rebuild records what it changed in settled months', async () => {
  const before = monthCounters(model);
  const n0 = (await changes()).length;
  // hal was in gamma from March, not May (the admin fixes the history)
  const hal = INTERVALS.find((iv) => iv.user === 108);
  hal.start = '2024-03-01T00:00:00Z';
  await s.sql(`UPDATE memberships SET started_at = '2024-03-01 00:00:00' WHERE user_id = 108 AND team_id = 12`);
  model = new Model(scenario());
  const want = diff(before, monthCounters(model), null);
  assert.ok(want.some((c) => c.month === '2024-03' && c.scope === 'gamma' && c.metric === 'merged' && c.old === 1 && c.new === 2));
  // lb-api notices the edit and rebuilds within a few seconds
  const deadline = Date.now() + 20000;
  let got;
  do {
    await get('/api/leaderboard');
    got = await changes();
    if (got.length > n0) break;
    await new Promise((r) => setTimeout(r, 200));
  } while (Date.now() < deadline);
  assert.deepEqual(got.slice(0, got.length - n0).map(key).sort(), want.map(key).sort());
  // and the list behind the corrected number has the PR, with the corrected interval
  const l = await list({ team: 'gamma', metric: 'merged', period: 'month', value: '2024-03' });
  const p = l.prs.find((x) => x.id === 1018);
  assert.ok(p, 'hal\'s March PR now counts for gamma');
  assert.deepEqual(strip(p).why, [{ team: 'gamma', team_name: 'Gamma', from: '2024-03-01T00:00:00Z', to: null, source: 'webhook' }]);
});

test('random and malformed query strings on /api/prs: only 200/304/400/404', async () => {
  let seed = 4242;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
  const pick = (a) => a[rnd(a.length)];
  const routes = ['/api/prs', '/api/prs.csv', '/api/prs/acme/core/1', '/api/prs/acme/core/', '/api/prs/x/y/z',
    '/api/prs/acme/core/99999999999', '/api/prs//core/1'];
  const keys = ['metric', 'team', 'author', 'scope', 'order', 'page', 'per_page', 'period', 'value', 'from', 'to', '', '%'];
  const vals = ['merged', 'created', 'points', 'outstanding', 'processed', 'alpha', 'staff', 'ann', 'helper[bot]',
    'partner', 'all', 'asc', 'desc', '0', '1', '500', '501', '-1', '99999999999999999999', 'year', '2024',
    'month', '2024-13', 'range', '2024-02-29', '%00', '%zz', "'; DROP TABLE teams; --", 'a'.repeat(300), ''];
  for (let i = 0; i < 300; i++) {
    const parts = Array.from({ length: rnd(6) }, () => `${pick(keys)}=${pick(vals)}`);
    const path = `${pick(routes)}?${parts.join('&')}`;
    const r = await s.get(path);
    assert.ok([200, 304, 400, 404].includes(r.status), `${path} -> ${r.status} ${r.text.slice(0, 200)}`);
    if (r.status !== 200 && r.json) assert.ok(r.json.error && r.json.error.code, path);
  }
  assert.equal((await s.get('/api/health')).json.status, 'ok');
});
