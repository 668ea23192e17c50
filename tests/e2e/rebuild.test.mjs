// The statistics rebuild when it takes long or fails (lib/rollup.c
// rollup_check, sql/021).
//
// A rebuild holds two leases, "rollup" (one rebuilder) and "fold" (no fold
// meanwhile). At ten million PRs it runs about half an hour, longer than
// the leases are taken for: the build renews them while it runs, so no
// reader takes the fold lease mid-build (it would then wait on stat_state,
// which the build holds, until its timeout: a 503) and no second rebuild
// starts. LB_TEST_REBUILD_LEASE=6 makes the lease 6 s here, and a session
// of the test holding stat_state keeps the build waiting as long as the
// test needs: no timing decides the outcome.
//
// A rebuild that fails is recorded on stat_state row 1 and not started
// again, by any process, before its retry time (30 s after a first
// failure); `lb-admin rebuild` runs one at once.
//
// A large rebuild (over 50,000 PRs; LB_TEST_REBUILD_INLINE=0 here: any)
// that an lb-api request finds needed is not run inside that request, which
// nginx would cut off with a 504 after minutes: the request answers from
// the rollups as they are, and the worker rebuilds once the answer is out.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUILD } from './harness.mjs';
import { period } from './api-model.mjs';
import { fileStack, githubDouble, holdSchedules, until } from './scaffold.mjs';
import { assertStats as walkStats, model as walkModel, pages as walkPages } from './walk-model.mjs';

const TOKEN = 'rebuild-test-token';
const REPO = 'acme/rebuild';

const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => d.generate({ seed: 31, org: 'acme',
  teams: 0, members: 0, outsiders: 9, repos: { [REPO]: 150 } }));
const s = await fileStack({ sets: {
  'github.api_url': dbl.url, 'github.token': TOKEN, 'github.repositories': REPO,
}, workers: 1, env: { LB_TEST_REBUILD_INLINE: '0' } });
await holdSchedules(s);
const served = (await walkPages(dbl, TOKEN, REPO)).flat();
const model = walkModel(served, [REPO]);
{
  const r = await s.admin(['sync', 'prs', REPO, '--full', '--now']);
  assert.equal(r.code, 0, r.stderr);
}

// A mariadb session of the test that locks rows (FOR UPDATE) until
// release(): stat_state rows 1 and 2, as a rebuild's own second connection
// does, or every repositories row, which a rebuild updates first.
async function holdRows(what) {
  const sock = fs.readFileSync(s.config, 'utf8').match(/^socket = (.*)$/m)[1];
  const p = spawn('mariadb', ['--no-defaults', `--socket=${sock}`, '-uroot', '-N', '-B', '--unbuffered', 'leaderboard'],
    { stdio: ['pipe', 'pipe', 'pipe'] });
  after(() => p.kill('SIGKILL'));
  let out = '', gone = false;
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => p.on('exit', (code) => { gone = true; resolve(code); }));
  p.stdin.write(`BEGIN; SELECT COUNT(*) FROM (SELECT id FROM ${what} FOR UPDATE) t; SELECT 'held';\n`);
  await until(`the test session holds ${what}`, () => {
    if (/held/.test(out)) return true;
    if (gone) throw new Error(`mariadb: ${out}`);
    return false;
  });
  return async () => { p.stdin.end('COMMIT;\n'); assert.equal(await exited, 0, out); };
}

function adminChild(args, env = {}) {
  const p = spawn(path.join(BUILD, 'lb-admin'), ['--config', s.config, ...args],
    { env: { ...s.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  after(() => p.kill('SIGKILL'));
  p.out = '';
  p.stdout.on('data', (d) => { p.out += d; });
  p.stderr.on('data', (d) => { p.out += d; });
  p.done = new Promise((resolve) => p.on('exit', (code) => resolve(code)));
  return p;
}

const leases = async () => (await s.sql("SELECT name, owner, expires_at > NOW(6) FROM leases "
  + "WHERE name IN ('fold', 'rollup') ORDER BY name"));
const state = async () => (await s.sql('SELECT rebuild_failures, rebuild_error, '
  + 'TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(6), rebuild_retry_at), built_at FROM stat_state WHERE id = 1'))[0];

test('a rebuild that runs longer than its leases keeps them: readers answer meanwhile, statistics exact after', async () => {
  await walkStats(s, model, 'before');
  const release = await holdRows('stat_state WHERE id IN (1, 2)');
  const rb = adminChild(['rebuild'], { LB_TEST_REBUILD_LEASE: '6' });
  const [first] = await until('the rebuild took its leases', async () => {
    const l = await leases();
    return l.every(([, o]) => o !== 'NULL') ? [l] : null;
  });
  const owner = first[0][1];
  assert.equal(first[1][1], owner, 'both leases held by the rebuilder');
  const [[taken]] = await s.sql("SELECT expires_at FROM leases WHERE name = 'rollup'");
  // wait out the 6 s the leases were taken for, and 2 s more
  await until('the first lease term is over', async () =>
    (await s.sql(`SELECT NOW(6) > '${taken}' + INTERVAL 2 SECOND`))[0][0] === '1', 20000, 200);
  assert.equal(await Promise.race([rb.done, Promise.resolve('running')]), 'running',
    `the build still waits for the test's session\n${rb.out}`);
  assert.deepEqual(await leases(), [['fold', owner, '1'], ['rollup', owner, '1']],
    'both leases renewed by the rebuilder, not expired');
  // a queued PR change: a reader of today does not take the fold lease
  // (it would wait on stat_state): it answers at once from the rollups
  await s.sql(`INSERT IGNORE INTO stat_queue (pr_id) VALUES (${served[0].id})`);
  const r = await s.get('/api/contributors?period=all');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, model.contributors(period('all')), 'the rollups as they are');
  assert.deepEqual(await leases(), [['fold', owner, '1'], ['rollup', owner, '1']], 'still the rebuilder\'s');

  await release();
  assert.equal(await rb.done, 0, rb.out);
  assert.match(rb.out, /statistics rebuilt in \d+\.\d s/);
  assert.deepEqual((await leases()).map(([n, o]) => [n, o]), [['fold', 'NULL'], ['rollup', 'NULL']],
    'given back');
  assert.doesNotMatch(rb.out, /not renewed/, 'every renewal worked');
  await walkStats(s, model, 'after the long rebuild');
});

test('a failed rebuild is not tried again before its retry time; lb-admin rebuild runs one at once', async () => {
  const [[lw]] = await s.sql('SELECT @@GLOBAL.innodb_lock_wait_timeout');
  after(() => s.sql(`SET GLOBAL innodb_lock_wait_timeout = ${lw}`));
  const [, , , builtBefore] = await state();
  const release = await holdRows('repositories');
  // new connections (the rebuild's own) give up on a lock after 1 s
  await s.sql('SET GLOBAL innodb_lock_wait_timeout = 1');
  // a team deleted with SQL: the next check of lb-api rebuilds
  await s.sql("INSERT INTO teams (id, slug, name, deleted_at) VALUES (77, 'gone', 'Gone', NOW(6))");
  const failed = await until('lb-api tried a rebuild and it failed', async () => {
    const r = await s.get('/api/stats/monthly?year=2024');
    assert.equal(r.status, 200, r.text);
    const st = await state();
    return st[0] === '1' ? st : null;
  }, 30000, 200);
  assert.match(failed[1], /lock wait timeout/i, 'why it failed is recorded');
  assert.ok(Number(failed[2]) >= 20 && Number(failed[2]) <= 30, `retry in ~30 s, not ${failed[2]}`);
  assert.equal(failed[3], builtBefore, 'nothing swapped in');
  await release();

  // the lock is gone, a rebuild would succeed now: lb-api's next checks say
  // that one waits (in its log, once) and start none
  const log = path.join(s.dir, 'log', 'api.log');
  await until('an lb-api check declined to rebuild', async () => {
    assert.equal((await s.get('/api/stats/monthly?year=2024')).status, 200);
    return /need a rebuild, but 1 failed in a row/.test(fs.readFileSync(log, 'utf8'));
  }, 30000, 200);
  const still = await state();
  assert.equal(still[0], '1', 'no second attempt');
  assert.equal(still[3], builtBefore, 'no rebuild');

  const r = await s.admin(['rebuild']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /statistics rebuilt in \d+\.\d s/);
  const done = await state();
  assert.deepEqual(done.slice(0, 3), ['0', 'NULL', 'NULL'], 'a success clears the failure');
  assert.notEqual(done[3], builtBefore);
  await walkStats(s, model, 'after lb-admin rebuild');
});

test('a large rebuild runs after the answer that found it needed: that reader answers at once', async () => {
  const [[lw]] = await s.sql('SELECT @@GLOBAL.innodb_lock_wait_timeout');
  await s.sql('SET GLOBAL innodb_lock_wait_timeout = 50');
  after(() => s.sql(`SET GLOBAL innodb_lock_wait_timeout = ${lw}`));
  await walkStats(s, model, 'before');
  const [, , , builtBefore] = await state();
  // the build will wait for the test's session, as long as the test needs
  const release = await holdRows('stat_state WHERE id IN (1, 2)');
  // a team deleted with SQL: the next check of lb-api needs a rebuild
  await s.sql("INSERT INTO teams (id, slug, name, deleted_at) VALUES (78, 'gone-too', 'Gone too', NOW(6))");
  const log = path.join(s.dir, 'log', 'api.log');
  const logged = () => (fs.readFileSync(log, 'utf8').match(/it runs after this answer/g) || []).length;
  const seen = logged();
  await until('an lb-api check left the rebuild for after its answer', async () => {
    const r = await s.get('/api/contributors?period=all');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, model.contributors(period('all')), 'the rollups as they are');
    return logged() > seen;
  }, 30000, 200);
  // the answer is out, and the worker has started the rebuild: it holds the
  // leases and waits for the test's session
  await until('the rebuild took its leases', async () =>
    (await leases()).every(([, o]) => o !== 'NULL'));
  assert.equal((await state())[3], builtBefore, 'nothing swapped in yet');
  await release();
  await until('the rebuild swapped its tables in and gave its leases back', async () =>
    (await state())[3] !== builtBefore && (await leases()).every(([, o]) => o === 'NULL'), 30000, 100);
  await walkStats(s, model, 'after the rebuild that followed the answer');
});
