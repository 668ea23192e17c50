// The job queue under lb-syncd: a daemon killed with SIGKILL mid-backfill
// leaves a job that the next daemon finishes (resuming from its checkpoint,
// without duplicate rows); two daemons on one queue run every job exactly
// once; SIGTERM releases the running job.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { daemon, fileStack, githubDouble, holdSchedules, until } from './scaffold.mjs';

const TOKEN = 'queue-test-token';
const BIG = 800;	// 8 pages

const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => d.generate({ seed: 11, org: 'acme',
  teams: 2, members: 3, outsiders: 4, memberAuthors: false,
  repos: { 'acme/big': BIG, 'acme/mid': 500, 'acme/small': 40 } }));

const s = await fileStack({ sets: {
  'github.api_url': dbl.url, 'github.token': TOKEN, 'github.repositories': 'acme/big,acme/mid,acme/small',
} });
await holdSchedules(s);

const bigPages = () => dbl.requests.filter((r) => r.path === '/repos/acme/big/pulls' && r.status === 200);

test('kill -9 mid-backfill: the next daemon finishes the job from its checkpoint, no duplicates', async () => {
  dbl.delayMs = 60;	// slow pages so the kill lands mid-walk
  const q = await s.admin(['sync', 'prs', 'acme/big', '--full']);
  assert.equal(q.code, 0, q.stderr);
  const jobId = /job (\d+)/.exec(q.stdout)[1];

  const d1 = daemon(s);
  await until('page 3 stored', async () => {
    const [row] = await s.sql(`SELECT progress FROM jobs WHERE id = ${jobId}`);
    return row && /page [3-9]/.test(row[0]);
  });
  d1.kill('SIGKILL');
  assert.equal((await d1.done).sig, 'SIGKILL');
  const [mid] = await s.sql(`SELECT state, (SELECT COUNT(*) FROM pull_requests) FROM jobs WHERE id = ${jobId}`);
  assert.equal(mid[0], 'running', 'the killed daemon still holds the lease');
  assert.ok(Number(mid[1]) > 0 && Number(mid[1]) < BIG, `partial: ${mid[1]} rows`);
  const before = bigPages().length;

  dbl.delayMs = 0;
  const d2 = daemon(s, ['--once']);
  const end = await d2.done;
  assert.equal(end.code, 0, d2.log);
  const [job] = await s.sql(`SELECT state, attempts FROM jobs WHERE id = ${jobId}`);
  assert.deepEqual(job, ['done', '2']);
  const [counts] = await s.sql(`SELECT COUNT(*), COUNT(DISTINCT id), COUNT(DISTINCT repo_id, number)
    FROM pull_requests WHERE repo_id = ${dbl.repos.get('acme/big').id}`);
  assert.deepEqual(counts, [String(BIG), String(BIG), String(BIG)]);
  // resumed: page 1 was fetched once; at most the pages in flight twice
  // (the one being stored and the next, which a full walk reads ahead)
  const pages = bigPages().map((r) => r.query.page || '1');
  assert.equal(pages.filter((p) => p === '1').length, 1, 'page 1 not fetched again');
  assert.ok(pages.length <= Math.ceil(BIG / 100) + 2, `${pages.length} pages for ${Math.ceil(BIG / 100)}`);
  assert.ok(pages.length > before);
  const [st] = await s.sql("SELECT detail IS NULL, watermark IS NOT NULL FROM sync_state WHERE name = 'prs:acme/big'");
  assert.deepEqual(st, ['1', '1'], 'checkpoint cleared, watermark set');
});

test('two lb-syncd on one queue run every job exactly once', async () => {
  dbl.clearRequests();
  dbl.delayMs = 15;
  const numbers = [];
  for (let n = 1; n <= 30; n++) numbers.push(n);
  const first = await s.admin(['sync', 'pr', 'acme/small#1']);
  assert.equal(first.code, 0, first.stderr);
  // the rest straight into the queue, shaped like lb-admin's own job
  const [[args, key]] = await s.sql("SELECT args, dedupe_key FROM jobs WHERE kind = 'sync_pr'");
  assert.deepEqual([args, key], ['{"repo":"acme/small","number":1}', 'pr:acme/small#1']);
  await s.sql(`INSERT INTO jobs (kind, args, dedupe_key) VALUES ${numbers.slice(1).map((n) =>
    `('sync_pr', '{"repo":"acme/small","number":${n}}', 'pr:acme/small#${n}')`).join(', ')}`);
  // queueing the same work again is deduplicated
  const again = await s.admin(['sync', 'pr', 'acme/small#7']);
  assert.match(again.stdout, /already queued/);
  const [queued] = await s.sql("SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND kind = 'sync_pr'");
  assert.equal(queued[0], String(numbers.length));

  const a = daemon(s, ['--once']);
  const b = daemon(s, ['--once']);
  const [ra, rb] = await Promise.all([a.done, b.done]);
  dbl.delayMs = 0;
  assert.equal(ra.code, 0, a.log);
  assert.equal(rb.code, 0, b.log);

  const jobs = await s.sql("SELECT state, attempts FROM jobs WHERE kind = 'sync_pr'");
  assert.equal(jobs.length, numbers.length);
  for (const j of jobs) assert.deepEqual(j, ["done", "1"], a.log + b.log);
  const per = new Map();
  for (const r of dbl.requests) if (/^\/repos\/acme\/small\/pulls\/\d+$/.test(r.path)) per.set(r.path, (per.get(r.path) || 0) + 1);
  assert.equal(per.size, numbers.length);
  for (const [p, c] of per) assert.equal(c, 1, `${p} requested ${c} times`);
  // each job is logged as run by exactly one of the two daemons
  const ran = (log) => [...log.matchAll(/job (\d+): sync_pr /g)].map((m) => m[1]);
  const all = [...ran(a.log), ...ran(b.log)];
  assert.equal(all.length, numbers.length);
  assert.equal(new Set(all).size, numbers.length);
});

test('SIGTERM releases the running job, which the next daemon completes', async () => {
  dbl.clearRequests();
  dbl.delayMs = 60;
  const q = await s.admin(['sync', 'prs', 'acme/mid', '--full']);
  const jobId = /job (\d+)/.exec(q.stdout)[1];
  const d = daemon(s);
  await until('page 2 stored', async () => {
    const [row] = await s.sql(`SELECT progress FROM jobs WHERE id = ${jobId}`);
    return row && /page [2-9]/.test(row[0]);
  });
  d.kill('SIGTERM');
  const end = await d.done;
  assert.equal(end.code, 0, d.log);
  assert.match(d.log, /released/);
  const [mid] = await s.sql(`SELECT state, attempts, lease_owner IS NULL FROM jobs WHERE id = ${jobId}`);
  assert.deepEqual(mid, ['queued', '0', '1'], 'released, the attempt not counted');
  dbl.delayMs = 0;
  const d2 = daemon(s, ['--once']);
  assert.equal((await d2.done).code, 0, d2.log);
  const [job] = await s.sql(`SELECT state FROM jobs WHERE id = ${jobId}`);
  assert.deepEqual(job, ['done']);
  const midFirst = dbl.requests.filter((r) => r.path === '/repos/acme/mid/pulls' && !r.query.page);
  assert.equal(midFirst.length, 1, 'resumed, page 1 fetched once');
  const [[rows]] = await s.sql(`SELECT COUNT(*) FROM pull_requests WHERE repo_id = ${dbl.repos.get('acme/mid').id}`);
  assert.equal(rows, '500');
});

test('SIGHUP reloads the configuration: a partner_org added later starts the teams sync', async () => {
  dbl.clearRequests();
  const d = daemon(s);
  await until('start message', () => /teams sync off: \[github\] partner_org is not set/.test(d.log));
  const fsm = await import('node:fs');
  const text = fsm.readFileSync(s.config, 'utf8').replace(/^\[github\]$/m, '[github]\npartner_org = acme');
  fsm.writeFileSync(s.config, text);
  d.kill('SIGHUP');
  await until('reload', () => /configuration reloaded/.test(d.log));
  await until('teams stored', async () => {
    const [row] = await s.sql("SELECT COUNT(*) FROM jobs WHERE kind = 'sync_teams' AND state = 'done'");
    return row[0] === '1';
  });
  d.kill('SIGTERM');
  assert.equal((await d.done).code, 0, d.log);
  const teams = await s.sql('SELECT id FROM teams WHERE deleted_at IS NULL ORDER BY id');
  assert.deepEqual(teams, dbl.teams.map((t) => [String(t.id)]));
  assert.ok(dbl.requests.some((r) => r.path === '/orgs/acme/teams'));
});

test('a lease of another host is respected until it expires, then the job runs again', async () => {
  dbl.clearRequests();
  const q = await s.admin(['sync', 'pr', 'acme/small#3']);
  const id = /job (\d+)/.exec(q.stdout)[1];
  // taken by a daemon on another host: alive (lease valid), then silent (expired)
  await s.sql(`UPDATE jobs SET state = 'running', attempts = 1, lease_owner = 'elsewhere:4242:1',
    lease_expires_at = NOW(6) + INTERVAL 1 HOUR WHERE id = ${id}`);
  assert.equal((await s.prog('lb-syncd', ['--once'])).code, 0);
  assert.deepEqual((await s.sql(`SELECT state, lease_owner FROM jobs WHERE id = ${id}`))[0],
    ['running', 'elsewhere:4242:1']);
  assert.equal(dbl.requests.length, 0);
  await s.sql(`UPDATE jobs SET lease_expires_at = NOW(6) - INTERVAL 1 SECOND WHERE id = ${id}`);
  assert.equal((await s.prog('lb-syncd', ['--once'])).code, 0);
  assert.deepEqual((await s.sql(`SELECT state, attempts FROM jobs WHERE id = ${id}`))[0], ['done', '2']);
  assert.deepEqual(dbl.requests.map((r) => r.path), ['/repos/acme/small/pulls/3']);
});

test('the fold lease of a local process that died is taken over at once', async () => {
  // held for another hour by a process of this host that no longer runs:
  // its pid now belongs to another process (this test's, started at
  // another time), so the next fold takes the lease over instead of waiting
  const dead = `${os.hostname().replace(/:/g, '_')}:${process.pid}:12345:0x1`;
  await s.sql('INSERT IGNORE INTO stat_queue (pr_id) SELECT id FROM pull_requests ORDER BY id LIMIT 1');
  assert.deepEqual((await s.sql('SELECT COUNT(*) FROM stat_queue'))[0], ['1']);
  await s.sql(`UPDATE leases SET owner = '${dead}', expires_at = NOW(6) + INTERVAL 1 HOUR WHERE name = 'fold'`);
  const r = await s.prog('lb-syncd', ['--once']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stderr.includes(`lease 'fold' of ${dead}, a process that died, taken over`), r.stderr);
  assert.deepEqual((await s.sql('SELECT COUNT(*) FROM stat_queue'))[0], ['0'], 'folded');
  assert.deepEqual((await s.sql("SELECT owner IS NULL FROM leases WHERE name = 'fold'"))[0], ['1'], 'given back');
});

test('an outcome the database could not take is written when it comes back, not left to the lease', async () => {
  dbl.clearRequests();
  const q = await s.admin(['sync', 'pr', 'acme/small#5']);
  const id = /job (\d+)/.exec(q.stdout)[1];
  const h = dbl.hold(/^\/repos\/acme\/small\/pulls\/5$/);
  const d = daemon(s);
  after(() => d.kill('SIGKILL'));	// a failing assertion must not leave it running
  await h.reached;	// the job runs, its request is held
  await s.dbStop();
  h.release();	// the job ends while MariaDB is away: its outcome cannot be written
  await until('outcome not written', () => /job \d+: cannot record its outcome/.test(d.log));
  await s.dbStart();
  await until('outcome written', () => /outcome written after the database came back/.test(d.log));
  // the job failed (its PR could not be stored) and is queued for a retry
  // with its backoff; without the second write it would stay "running"
  // under this daemon's lease for 5 minutes
  const [job] = await s.sql(`SELECT state, attempts, lease_owner IS NULL, last_error IS NOT NULL FROM jobs WHERE id = ${id}`);
  assert.deepEqual(job, ['queued', '1', '1', '1'], d.log);
  d.kill('SIGTERM');
  assert.equal((await d.done).code, 0, d.log);
});
