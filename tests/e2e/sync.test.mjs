// lb-syncd / lb-admin sync against the GitHub API double (tests/github-double):
// backfill = the double's data exactly, incremental sync = one 304 per repo,
// upstream changes (merge, membership, rename, delete) arrive, rate limits and
// faults are survived, the token never shows, nothing is called unconfigured.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, BUILD } from './harness.mjs';
import { githubDouble } from './scaffold.mjs';
import { assertDbMatches } from './double-compare.mjs';

const TOKEN = 'ghp_SECRETtoken0123456789';
const REPOS = { 'acme/widgets': 1450, 'other/lib': 580 };

const dbl = await githubDouble({ token: TOKEN, org: 'acme' },
  (d) => d.generate({ seed: 7, org: 'acme', teams: 4, members: 5, outsiders: 4, repos: REPOS }));

let s;	// one stack shared by the tests of this file, in order
after(() => s && s.stop());

const SETS = () => ({
  'github.api_url': dbl.url,
  'github.token': TOKEN,
  'github.partner_org': 'acme',
  'github.repositories': Object.keys(REPOS).join(','),
  'github.exclude_teams': 'team-4',
});

const pullsOf = (repo) => dbl.requests.filter((r) => r.path === `/repos/${repo}/pulls`);
const isoSql = (col) => `DATE_FORMAT(${col}, '%Y-%m-%dT%H:%i:%sZ')`;

async function syncdOnce(stack) {
  const r = await stack.prog('lb-syncd', ['--once']);
  assert.equal(r.code, 0, `lb-syncd --once failed: ${r.stderr}`);
  return r;
}

const assertDbEqualsDouble = (stack) => assertDbMatches(stack, dbl);

test('backfill through the queue stores exactly the double\'s teams, members and PRs', async () => {
  s = await startStack({ sets: SETS() });
  // the integrity check (its own suite) is not due here: only sync requests count
  await s.sql("INSERT INTO sync_state (name, last_started_at) VALUES ('schedule:check', NOW(6))");
  // one secondary rate limit (403 + Retry-After) and one 502 on the way
  dbl.fault(403, 'widgets/pulls\\?.*page=2(&|$)');
  dbl.fault(502, 'widgets/pulls\\?.*page=3(&|$)');

  const q = await s.admin(['backfill']);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /queued job \d+: sync teams --full/);
  const jobs = await s.sql("SELECT kind, args FROM jobs WHERE state = 'queued' ORDER BY id");
  assert.deepEqual(jobs.map((j) => j[0]), ['sync_teams', 'sync_prs', 'sync_prs']);

  const run = await syncdOnce(s);
  const states = await s.sql('SELECT state, COUNT(*) FROM jobs GROUP BY state');
  assert.deepEqual(states, [['done', String(jobs.length)]], 'every job done');
  await assertDbEqualsDouble(s);

  // one request per page, per_page=100, sorted by update, newest first
  for (const [repo, n] of Object.entries(REPOS)) {
    const ok = pullsOf(repo).filter((r) => r.status === 200);
    assert.equal(ok.length, Math.ceil(n / 100), `${repo}: pages ${JSON.stringify(pullsOf(repo).map((r) => [r.status, r.query.page]))} ${run.stderr}`);
    for (const r of ok) {
      assert.deepEqual([r.query.state, r.query.sort, r.query.direction, r.query.per_page],
        ['all', 'updated', 'desc', '100']);
    }
  }
  // the two faulted pages were retried once each
  assert.deepEqual(pullsOf('acme/widgets').filter((r) => r.status !== 200).map((r) => r.status), [403, 502]);
  for (const r of dbl.requests) {
    assert.equal(r.auth, true, `${r.url} without the token`);
    assert.match(r.ua, /^leaderboard-syncd\//);
  }
  // no request per PR (labels come from the list)
  assert.equal(dbl.requests.filter((r) => /\/pulls\/\d+$/.test(r.path)).length, 0);
  // the token appears in no output and no log
  assert.ok(!run.stderr.includes(TOKEN) && !run.stdout.includes(TOKEN));
  for (const f of fs.readdirSync(path.join(s.dir, 'log'))) {
    assert.ok(!fs.readFileSync(path.join(s.dir, 'log', f), 'utf8').includes(TOKEN), `token in log/${f}`);
  }
});

test('an immediate second incremental sync costs one request per repo, answered 304', async () => {
  dbl.clearRequests();
  for (const repo of Object.keys(REPOS)) {
    const q = await s.admin(['sync', 'prs', repo]);
    assert.equal(q.code, 0, q.stderr);
  }
  const t = await s.admin(['sync', 'teams']);
  assert.equal(t.code, 0, t.stderr);
  await syncdOnce(s);
  for (const repo of Object.keys(REPOS)) {
    const reqs = pullsOf(repo);
    assert.equal(reqs.length, 1, `${repo}: one request`);
    assert.equal(reqs[0].status, 304);
    assert.ok(reqs[0].inm);
  }
  // teams: the org, then the team list and every member list answered 304
  const teamReqs = dbl.requests.filter((r) => r.path.startsWith('/orgs/'));
  assert.deepEqual(teamReqs.filter((r) => r.path !== '/orgs/acme').map((r) => r.status),
    new Array(1 + dbl.teams.length).fill(304));
  await assertDbEqualsDouble(s);
});

test('upstream changes arrive with the next incremental sync: merge, members, rename, delete', async () => {
  // the oldest open PR of widgets gets merged upstream
  const open = dbl.snapshot().pulls.filter((p) => p.repo === 'acme/widgets' && p.state === 'open')
    .sort((a, b) => a.updated_at.localeCompare(b.updated_at))[0];
  const merged = dbl.merge('acme/widgets', open.number);
  const [before] = await s.sql(`SELECT merged, state FROM pull_requests WHERE id = ${open.id}`);
  assert.deepEqual(before, ['0', 'open']);

  // team changes: one leaves, a newcomer joins, a team is renamed, one deleted
  const t1 = dbl.team('team-1');
  const leaver = [...t1.members][1];
  dbl.removeMember('team-1', leaver);
  const newcomer = dbl.addUser('newcomer');
  dbl.addMember('team-1', newcomer.id);
  const renamedId = dbl.team('team-2').id;
  dbl.renameTeam('team-2', 'team-two', 'Partner Two');
  const gone = dbl.team('team-3');
  dbl.deleteTeam('team-3');

  dbl.clearRequests();
  assert.equal((await s.admin(['sync', 'prs', 'acme/widgets'])).code, 0);
  assert.equal((await s.admin(['sync', 'teams'])).code, 0);
  await syncdOnce(s);

  const [row] = await s.sql(`SELECT merged, state, ${isoSql('merged_at')} FROM pull_requests WHERE id = ${open.id}`);
  assert.deepEqual(row, ['1', 'closed', new Date(merged.merged).toISOString().replace('.000Z', 'Z')]);
  // incremental: page 1 changed, and the walk stopped there (past the watermark)
  assert.deepEqual(pullsOf('acme/widgets').map((r) => [r.status, r.query.page]), [[200, undefined]]);

  const [left] = await s.sql(`SELECT COUNT(*), SUM(ended_at IS NOT NULL) FROM memberships
    WHERE team_id = ${t1.id} AND user_id = ${leaver}`);
  assert.deepEqual(left, ['1', '1'], 'the leaver\'s interval ended');
  const [joined] = await s.sql(`SELECT started_at IS NULL, ended_at IS NULL, source FROM memberships
    WHERE team_id = ${t1.id} AND user_id = ${newcomer.id}`);
  assert.deepEqual(joined, ['1', '1', 'sync'], 'a member found by a sync: since the beginning of time');
  const [ren] = await s.sql(`SELECT slug, name, deleted_at IS NULL FROM teams WHERE id = ${renamedId}`);
  assert.deepEqual(ren, ['team-two', 'Partner Two', '1']);
  const [del] = await s.sql(`SELECT deleted_at IS NOT NULL,
    (SELECT COUNT(*) FROM memberships WHERE team_id = ${gone.id} AND ended_at IS NULL) FROM teams WHERE id = ${gone.id}`);
  assert.deepEqual(del, ['1', '0'], 'deleted team marked, its memberships ended');
  await assertDbEqualsDouble(s);
});

test('sync --now: single PR, primary rate limit waits for the reset, usage errors', async () => {
  // full object of one PR (GET /pulls/N), merged there with additions
  const pr = dbl.repos.get('other/lib').byNumber.get(3);
  dbl.clearRequests();
  const one = await s.admin(['sync', 'pr', 'other/lib#3', '--now']);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(one.stdout + one.stderr, '', 'nothing but errors when not a terminal');
  assert.deepEqual(dbl.requests.map((r) => r.path), ['/repos/other/lib/pulls/3']);
  const [full] = await s.sql(`SELECT additions IS NOT NULL, merged FROM pull_requests WHERE id = ${pr.id}`);
  assert.deepEqual(full, ['1', pr.merged ? '1' : '0']);

  // one request left until a reset 2 s away: the second request waits for it
  dbl.clearRequests();
  dbl.rate.remaining = 1;
  dbl.rate.reset = Math.floor(Date.now() / 1000) + 2;
  const reset = dbl.rate.reset;
  const arrival = [];
  const orig = dbl.handle.bind(dbl);
  dbl.handle = (req, res) => { arrival.push(Date.now()); return orig(req, res); };
  const r = await s.admin(['sync', 'prs', 'other/lib', '--full', '--now']);
  dbl.handle = orig;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(pullsOf('other/lib').filter((x) => x.status === 403).length, 0, 'never hit the limit');
  assert.ok(arrival[1] >= reset * 1000, 'the request after remaining=0 came after x-ratelimit-reset');
  assert.equal(pullsOf('other/lib').length, Math.ceil(REPOS['other/lib'] / 100));

  // GitHub Enterprise: api_url https://HOST/api/v3, Link pages followed under it
  const ghe = path.join(s.dir, 'ghe.conf');
  fs.writeFileSync(ghe, fs.readFileSync(s.config, 'utf8').replace(/^api_url = .*$/m, `api_url = ${dbl.url}/api/v3`));
  dbl.clearRequests();
  const g = await s.admin(['--config', ghe, 'sync', 'prs', 'other/lib', '--full', '--now']);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(pullsOf('other/lib').length, Math.ceil(REPOS['other/lib'] / 100));
  assert.ok(pullsOf('other/lib').every((x) => x.prefix === '/api/v3' && x.status === 200));

  // usage errors: exit 2, one line on stderr
  for (const args of [['sync'], ['sync', 'prs', 'nope'], ['sync', 'pr', 'a/b#x'], ['sync', 'bogus'],
    ['jobs', '--state', 'weird'], ['backfill', 'extra']]) {
    const u = await s.admin(args);
    assert.equal(u.code, 2, `${args.join(' ')}: ${u.stderr}`);
    assert.equal(u.stderr.trim().split('\n').length, 1, u.stderr);
  }
  // a PR that does not exist: exit 1, one line
  const miss = await s.admin(['sync', 'pr', 'other/lib#99999', '--now']);
  assert.equal(miss.code, 1);
  assert.match(miss.stderr, /^lb-admin: .*404/);
  assert.ok(!miss.stderr.includes(TOKEN));

  const list = await s.admin(['jobs', '--state', 'done']);
  assert.equal(list.code, 0);
  assert.match(list.stdout, /sync_prs +\{"repo":"acme\/widgets"/);
});

test('a full walk reads the next page ahead: its failure ends the walk after the page in hand, resumed there', async () => {
  // other/lib: 580 PRs, 6 pages. Page 3 is read while page 2 is stored; it
  // answers 404 once: page 2 is checkpointed, nothing past page 3 is asked.
  const pages = Math.ceil(REPOS['other/lib'] / 100);
  dbl.fault(404, '^/repos/other/lib/pulls\\?.*[?&]page=3(&|$)', 1);
  dbl.clearRequests();
  const r1 = await s.admin(['sync', 'prs', 'other/lib', '--full', '--now']);
  assert.equal(r1.code, 1, r1.stderr);
  assert.match(r1.stderr, /404/);
  assert.ok(!r1.stderr.includes(TOKEN));
  const asked = () => pullsOf('other/lib').map((x) => `${x.query.page || '1'}:${x.status}`);
  assert.deepEqual(asked(), ['1:200', '2:200', '3:404']);
  const [cp] = await s.sql("SELECT JSON_VALUE(detail, '$.pages'), JSON_VALUE(detail, '$.next') " +
    "FROM sync_state WHERE name = 'prs:other/lib'");
  assert.equal(cp[0], '2', 'the checkpoint is page 2');
  assert.match(cp[1], /[?&]page=3(&|$)/);

  dbl.clearRequests();
  const r2 = await s.admin(['sync', 'prs', 'other/lib', '--full', '--now']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.deepEqual(asked(), Array.from({ length: pages - 2 }, (_, i) => `${i + 3}:200`));
  const [st] = await s.sql("SELECT detail IS NULL, watermark IS NOT NULL FROM sync_state WHERE name = 'prs:other/lib'");
  assert.deepEqual(st, ['1', '1'], 'checkpoint cleared, watermark set');
  await assertDbEqualsDouble(s);
});

test('without token / partner_org / repositories, GitHub is never called', async () => {
  const bare = path.join(s.dir, 'bare.conf');
  const text = fs.readFileSync(s.config, 'utf8').split('\n')
    .filter((l) => !/^(token|partner_org|repositories) =/.test(l)).join('\n');
  fs.writeFileSync(bare, text);
  dbl.clearRequests();
  await s.sql("DELETE FROM sync_state WHERE name LIKE 'schedule:%'");	// everything due, the check too
  const r = await s.prog('lb-syncd', ['--config', bare, '--once']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /teams sync off: \[github\] token \(or app_id \+ app_private_key_file\) is not set/);
  const now = await s.admin(['--config', bare, 'sync', 'teams', '--now']);
  assert.equal(now.code, 1);
  assert.match(now.stderr, /token \(or app_id \+ app_private_key_file\) is not set/);
  const bf = await s.admin(['--config', bare, 'backfill']);
  assert.equal(bf.code, 1);
  assert.equal(dbl.requests.length, 0, 'no request reached the double');
  assert.ok(fs.existsSync(path.join(BUILD, 'lb-syncd')));
});
