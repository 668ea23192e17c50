// A stalled MariaDB (SIGSTOP on mariadbd: connections stay open, nothing
// answers). GitHub gives up on a webhook after 10 s, so lb-hook must answer
// every delivery 202 within that, spooling what it cannot store; lb-api
// answers a JSON 503 within the same deadline instead of hanging. After
// SIGCONT, lb-syncd applies the spool and every delivery is applied exactly
// once, also one that was committed and spooled both (idempotent by id).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack } from './harness.mjs';
import { until } from './scaffold.mjs';
import { deliver, examples, makePR } from './webhooks.mjs';

const SECRET = 'stall-secret';
const GITHUB_DEADLINE = 10000;	// ms: GitHub counts a slower answer as a failed delivery
let s, mariadbd;

// SIGCONT whatever happens, so nothing stays frozen (also at exit).
function resume() {
  if (mariadbd) try { process.kill(mariadbd, 'SIGCONT'); } catch { /* gone */ }
}
process.on('exit', resume);

before(async () => {
  s = await startStack({ sets: { 'github.webhook_secret': SECRET, 'hook.keep_deliveries_days': '0' } });
  mariadbd = Number(fs.readFileSync(`${s.dir}/run/mariadb.pid`, 'utf8').trim());
});
after(async () => { resume(); if (s) await s.stop(); });

const spooled = () => fs.readdirSync(`${s.dir}/spool`).filter((f) => f.endsWith('.delivery'));

// The answer, or {timedOut} once the deadline passed (the request itself
// keeps running; it is answered after SIGCONT at the latest).
async function timed(promise, ms = GITHUB_DEADLINE) {
  const t0 = Date.now();
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(() => resolve({ timedOut: true }), ms); });
  const r = await Promise.race([promise, late]);
  clearTimeout(timer);
  return { ...r, ms: Date.now() - t0 };
}

function prDelivery(k) {
  return {
    event: 'pull_request', id: `st-pr-${k}`,
    payload: makePR({ id: 550000 + k, number: 500 + k, title: `stall ${k}`,
      repo: { id: 55, name: 'repo', owner: { login: 'acme', id: 53 } },
      created_at: '2024-07-01T00:00:00Z', updated_at: '2024-07-02T00:00:00Z' }),
  };
}

function memberDelivery(id, userId) {
  const m = examples('membership', 'added')[0];
  return { event: 'membership', id, payload: { ...m, member: { ...m.member, id: userId, login: `stall-${userId}` },
    team: { ...m.team, id: 5500002, slug: 'stall-team', name: 'Stall team' } } };
}

test('MariaDB frozen mid-stream: every delivery 202 within 10 s, the API a JSON 503; after SIGCONT all applied once', async () => {
  const list = [];
  for (let k = 0; k < 20; k++) list.push(prDelivery(k));
  list.splice(10, 0, memberDelivery('st-m-1', 5500101));
  const results = new Array(list.length);
  let next = 0, answered = 0, frozen = false;
  // 4 at a time (2 lb-hook workers: half of them wait in the queue too)
  async function worker() {
    while (next < list.length) {
      const i = next++;
      const d = list[i];
      const sentFrozen = frozen;
      results[i] = { ...await timed(deliver(s, d.event, d.payload, { secret: SECRET, id: d.id })), sentFrozen };
      if (++answered === 4 && !frozen) {	// freeze while others are in flight
        process.kill(mariadbd, 'SIGSTOP');
        frozen = true;
      }
    }
  }
  try {
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.ok(frozen);
    for (const [i, r] of results.entries()) {
      assert.ok(!r.timedOut, `${list[i].id}: no answer within ${GITHUB_DEADLINE} ms`);
      assert.equal(r.status, 202, `${list[i].id}: ${r.text}`);
      // in flight when it froze: either; sent after: spooled
      assert.ok((r.sentFrozen ? ['spooled'] : ['processed', 'spooled']).includes(r.json.status),
        `${list[i].id}: ${r.text}`);
    }
    assert.ok(results.filter((x) => x.sentFrozen).length >= list.length - 8);
    // still frozen: what comes now is spooled, quickly
    const late = prDelivery(99);
    const r = await timed(deliver(s, late.event, late.payload, { secret: SECRET, id: late.id }));
    assert.ok(!r.timedOut, `no answer within ${GITHUB_DEADLINE} ms`);
    assert.deepEqual(r.json, { delivery: late.id, status: 'spooled' });
    list.push(late);
    const nSpooled = results.filter((x) => x.json.status === 'spooled').length + 1;
    assert.equal(spooled().length, nSpooled);

    // lb-api: a JSON 503 within the deadline, not a hang (both workers)
    for (const p of ['/api/health', '/api/leaderboard']) {
      const a = await timed(s.get(p));
      assert.ok(!a.timedOut, `${p}: no answer within ${GITHUB_DEADLINE} ms`);
      assert.equal(a.status, 503, `${p}: ${a.text}`);
      assert.equal(a.headers.get('content-type'), 'application/json');
      if (p === '/api/health') assert.equal(a.json.status, 'error');
      else assert.equal(a.json.error.code, 'database_unavailable');
    }
  } finally {
    resume();
  }

  // back: the API recovers by itself, lb-syncd applies the spool
  await until('health ok', async () => (await s.get('/api/health')).json?.status === 'ok', 30000, 100);
  const once = await s.prog('lb-syncd', ['--once']);
  assert.equal(once.code, 0, once.stderr);
  assert.deepEqual(spooled(), []);
  const rows = await s.sql("SELECT id, outcome FROM deliveries WHERE id LIKE 'st-%' ORDER BY id");
  assert.deepEqual(rows, list.map((d) => [d.id, 'processed']).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  const prs = await s.sql('SELECT id, title FROM pull_requests WHERE id BETWEEN 550000 AND 550099 ORDER BY id');
  assert.deepEqual(prs, list.filter((d) => d.event === 'pull_request')
    .map((d) => [String(d.payload.pull_request.id), d.payload.pull_request.title]).sort((a, b) => a[0] - b[0]));
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM memberships WHERE user_id = 5500101'), [['1']]);
  // the hook's connections work again (a worker reconnects on its next request)
  for (let k = 0; k < 4; k++) {
    const d = prDelivery(200 + k);
    assert.equal((await deliver(s, d.event, d.payload, { secret: SECRET, id: d.id })).json.status, 'processed');
  }
});

test('a delivery committed and also spooled (its COMMIT answer lost) is applied once', async () => {
  const d = memberDelivery('st-m-both', 5500201);
  const live = await deliver(s, d.event, d.payload, { secret: SECRET, id: d.id });
  assert.equal(live.json.status, 'processed');
  const [[receivedAt]] = await s.sql("SELECT DATE_FORMAT(received_at, '%Y-%m-%d %H:%i:%s.%f') FROM deliveries WHERE id = 'st-m-both'");
  // the same delivery as lb-hook spools it when it gives up waiting for COMMIT
  fs.writeFileSync(`${s.dir}/spool/29990101000000000000-0000000001-00000001.delivery`,
    `${JSON.stringify({ delivery: d.id, event: d.event, hook_id: null, received_at: receivedAt,
      content_type: 'application/json' })}\n${JSON.stringify(d.payload)}`);
  const before = await s.sql('SELECT team_id, IFNULL(started_at, 0), IFNULL(ended_at, 0) FROM memberships WHERE user_id = 5500201');
  assert.equal(before.length, 1);
  const once = await s.prog('lb-syncd', ['--once']);
  assert.equal(once.code, 0, once.stderr);
  assert.match(once.stderr, /spool: delivery st-m-both duplicate/);
  assert.deepEqual(spooled(), []);
  assert.deepEqual(await s.sql("SELECT outcome FROM deliveries WHERE id = 'st-m-both'"), [['processed']]);
  assert.deepEqual(await s.sql('SELECT team_id, IFNULL(started_at, 0), IFNULL(ended_at, 0) FROM memberships WHERE user_id = 5500201'), before);
});
