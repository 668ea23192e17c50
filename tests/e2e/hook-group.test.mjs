// Deliveries that arrive together are committed together ([hook] threads,
// cgi-bin/hook/group.c, lib/ingest.h ingest_apply_batch): while one
// delivery's transaction runs, the deliveries that arrive at the same worker
// wait, and the next transaction takes them all. Each keeps its own answer,
// deliveries row and history; a group with a delivery it cannot take whole
// (a duplicate id) applies its deliveries one by one, each with the answer
// it would have had alone.
//
// To make a group deterministic, a session holds the row of a stored PR;
// a delivery of that PR waits for it (its worker runs one transaction at
// a time), and the test sends 7 more deliveries. The worker (one, 8
// threads) then has every thread busy: the 7 wait in the group, which the
// test sees in /proc (7 threads waiting in a condition variable, none in
// accept). Then the session is killed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack } from './harness.mjs';
import { holdLock } from './scaffold.mjs';
import { acme, deliver, deliveryId, isoSecond, makePR } from './webhooks.mjs';

const SECRET = 'group-test-secret';
const { ORG, REPO, TEAM } = acme;
const ANN = acme.user(100, 'ann');
const BOB = acme.user(101, 'bob');
const CAROL = acme.user(102, 'carol');
const iso = isoSecond;
const now0 = Date.now();
const created = iso(now0 - 3 * 3600e3);
const later = (m) => iso(now0 - 3 * 3600e3 + m * 60e3);
// system call numbers: futex, accept, accept4
const NR = process.arch === 'arm64' ? { futex: 98, accept: [202, 242] } : { futex: 202, accept: [43, 288] };
let s;

const pr = (id, user, action = 'opened', m = 0, title = `PR ${id}`) => makePR({
  id, number: id, repo: REPO, user, action, state: 'open', title,
  created_at: created, updated_at: later(m), closed_at: null, merged_at: null, merged: false, labels: [] });

before(async () => {
  s = await startStack({
    workers: 1,
    sets: {
      'github.webhook_secret': SECRET, 'github.partner_org': 'acme', 'github.repositories': 'acme/core',
      'hook.threads': '8',
      // the held row is released within seconds, but a sanitizer build is slow:
      // the held delivery must not count as a stalled server (and be spooled)
      'database.timeout': '60s',
    },
  });
  const r = await deliver(s, 'team', { action: 'created', team: TEAM, organization: ORG, sender: ANN }, { secret: SECRET });
  assert.equal(r.status, 202, r.text);
  for (const u of [ANN, BOB]) {
    const m = await deliver(s, 'membership',
      { action: 'added', scope: 'team', member: u, team: TEAM, organization: ORG, sender: ANN }, { secret: SECRET });
    assert.equal(m.status, 202, m.text);
  }
  await s.sql('UPDATE memberships SET started_at = NULL');
  const x = await deliver(s, 'pull_request', pr(5000, ANN), { secret: SECRET });
  assert.equal(x.json.status, 'processed', x.text);
});
after(async () => {
  if (s) await s.stop();
});

// the lb-hook worker: the child of the supervisor whose pid the stack keeps
function hookWorker() {
  const master = fs.readFileSync(`${s.dir}/run/hook.pid`, 'utf8').trim();
  const kids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { return fs.readFileSync(`/proc/${p}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[1] === master; } catch { return false; }
  });
  assert.equal(kids.length, 1, `one lb-hook worker under ${master}`);
  return kids[0];
}

// whether n of the worker's threads wait in a condition variable (glibc:
// futex FUTEX_WAIT_BITSET; a mutex waits with FUTEX_WAIT) and none accepts:
// with all 8 threads busy, those are the group's waiters
function groupWaiting(pid, n) {
  let accepting = 0, waiting = 0;
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    let f;
    try { f = fs.readFileSync(`/proc/${pid}/task/${t}/syscall`, 'utf8').trim().split(' '); } catch { continue; }
    const nr = Number(f[0]);
    if (NR.accept.includes(nr)) accepting++;
    if (nr === NR.futex && (Number(f[2]) & 0x7f) === 9) waiting++;
  }
  return accepting === 0 && waiting === n;
}

// Holds PR 5000's row, sends `first` (which waits for it) and then `rest`,
// releases the row once the rest wait as a group; resolves to every answer.
async function asGroup(first, rest) {
  const held = await holdLock(s, 'SELECT id FROM pull_requests WHERE id = 5000 FOR UPDATE', 'group_test_holder');
  let early;
  const a = deliver(s, first.event, first.payload, { secret: SECRET, ...first.opts });
  a.then((r) => { early = r; });
  // its worker's transaction runs (and waits for the row: the INSERT's
  // RETURNING reads it with a shared lock) before the others are sent
  for (const t0 = Date.now(); ; ) {
    assert.equal(early, undefined, 'the first delivery did not wait for the held row');
    const rows = await s.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
      + "WHERE command = 'Execute' AND info LIKE 'INSERT INTO deliveries %'");
    if (rows[0][0] === '1') break;
    assert.ok(Date.now() - t0 < 30000, 'the first delivery never reached the database');
  }
  const others = rest.map((d) => deliver(s, d.event, d.payload, { secret: SECRET, ...d.opts }));
  const pid = hookWorker();
  for (const t0 = Date.now(); !groupWaiting(pid, rest.length); ) {
    assert.ok(Date.now() - t0 < 30000, 'the other deliveries never waited together');
    await new Promise((resolve) => setImmediate(resolve));
  }
  await held.release();
  return [await a, ...(await Promise.all(others))];
}

const ids = (n) => Array.from({ length: n }, () => deliveryId());

test('deliveries that arrive together: one transaction, each its own answer, row and history', async () => {
  const d = ids(7);
  const rest = [5001, 5002, 5003, 5004, 5005].map((id, i) => ({ event: 'pull_request',
    payload: pr(id, i % 2 ? ANN : BOB), opts: { id: d[i] } }));
  // the same PR twice in one group: the newer snapshot wins, in either order
  rest.push({ event: 'pull_request', payload: pr(5006, BOB, 'opened', 0, 'first title'), opts: { id: d[5] } });
  rest.push({ event: 'pull_request', payload: pr(5006, BOB, 'synchronize', 5, 'second title'), opts: { id: d[6] } });
  const first = { event: 'pull_request', payload: pr(5000, ANN, 'synchronize', 1, 'PR 5000, edited') };
  const answers = await asGroup(first, rest);
  for (const r of answers) assert.deepEqual([r.status, r.json && r.json.status], [202, 'processed'], r.text);

  const list = d.map((x) => `'${x}'`).join(', ');
  const rows = await s.sql(`SELECT COUNT(*), COUNT(DISTINCT processed_at), MIN(outcome), MAX(outcome) FROM deliveries WHERE id IN (${list})`);
  assert.deepEqual(rows, [['7', '1', 'processed', 'processed']], 'the 7 committed together');
  const [[alone]] = await s.sql(`SELECT COUNT(*) FROM deliveries WHERE id = '${answers[0].id}' AND processed_at = (SELECT MIN(processed_at) FROM deliveries WHERE id IN (${list}))`);
  assert.equal(alone, '0', 'the held delivery went alone');

  // each PR's history names its own delivery and action
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(await s.sql(`SELECT ref, action, change_kind, source FROM pr_history WHERE pr_id = ${5001 + i}`),
      [[d[i], 'opened', 'inserted', 'webhook']]);
  }
  const hist = await s.sql('SELECT ref, action FROM pr_history WHERE pr_id = 5006 ORDER BY id');
  assert.ok(hist.length >= 1 && hist.length <= 2, JSON.stringify(hist));
  for (const [ref, action] of hist) assert.equal(action, ref === d[5] ? 'opened' : ref === d[6] ? 'synchronize' : 'none', ref);
  assert.deepEqual(await s.sql('SELECT title FROM pull_requests WHERE id = 5006'), [['second title']]);
  assert.deepEqual(await s.sql(`SELECT ref, action FROM pr_history WHERE pr_id = 5000 ORDER BY id DESC LIMIT 1`),
    [[answers[0].id, 'synchronize']]);
  assert.deepEqual(await s.sql('SELECT title FROM pull_requests WHERE id = 5000'), [['PR 5000, edited']]);

  const lb = await s.get('/api/leaderboard?period=all');
  assert.equal(lb.status, 200, lb.text);
  assert.equal(lb.json.teams.find((t) => t.slug === 'alpha').created, 7, 'PR 5000 and the 6 new ones');
});

test('a group with a delivery it cannot take whole: each delivery answered as it would be alone', async () => {
  const [old] = await s.sql("SELECT id, body FROM deliveries WHERE id IN (SELECT ref FROM pr_history WHERE pr_id = 5001)");
  const d = ids(6);
  const bad = pr(5012, ANN);
  delete bad.pull_request.user;
  const rest = [
    // a redelivery of a delivery stored already
    { event: 'pull_request', payload: undefined, opts: { id: old[0], body: old[1] } },
    { event: 'pull_request', payload: bad, opts: { id: d[0] } },
    { event: 'membership', payload: { action: 'added', scope: 'team', member: CAROL, team: TEAM, organization: ORG, sender: ANN }, opts: { id: d[1] } },
    ...[5010, 5011, 5013, 5014].map((id, i) => ({ event: 'pull_request', payload: pr(id, CAROL), opts: { id: d[2 + i] } })),
  ];
  const first = { event: 'pull_request', payload: pr(5000, ANN, 'synchronize', 2, 'PR 5000, edited twice') };
  const answers = await asGroup(first, rest);
  const got = answers.map((r) => [r.status, r.json && r.json.status, r.json && r.json.error && r.json.error.code]);
  assert.deepEqual(got, [
    [202, 'processed', undefined],
    [202, 'duplicate', undefined],
    [400, undefined, 'invalid_payload'],
    [202, 'processed', undefined],
    [202, 'processed', undefined], [202, 'processed', undefined], [202, 'processed', undefined], [202, 'processed', undefined],
  ]);
  assert.deepEqual(await s.sql(`SELECT COUNT(*) FROM deliveries WHERE id = '${old[0]}'`), [['1']]);
  assert.deepEqual(await s.sql(`SELECT outcome FROM deliveries WHERE id = '${d[0]}'`), [['failed']]);
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM pull_requests WHERE id = 5012'), [['0']]);
  for (let i = 0; i < 4; i++) {
    assert.deepEqual(await s.sql(`SELECT ref, action FROM pr_history WHERE pr_id = ${[5010, 5011, 5013, 5014][i]}`),
      [[d[2 + i], 'opened']]);
  }
  assert.deepEqual(await s.sql(`SELECT COUNT(*) FROM memberships WHERE user_id = ${CAROL.id} AND ended_at IS NULL`), [['1']]);
  const lb = await s.get('/api/leaderboard?period=all');
  assert.equal(lb.status, 200, lb.text);
  const alpha = lb.json.teams.find((t) => t.slug === 'alpha');
  assert.equal(alpha.created, 7, 'CAROL joined after her 4 PRs were created: they count for no team');
  const c = await s.get('/api/contributors?period=all');
  assert.equal(c.json.contributors.find((x) => x.login === 'carol').created, 4);
});
