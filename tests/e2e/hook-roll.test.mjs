// A receiver worker that was idle rolls a delivery's PR into the statistics
// itself, in the delivery's transaction ([hook] roll_when_idle_ms,
// lib/rollup.h rollup_inline): nothing is queued, and the next answer has
// the PR without any reader folding it. While a rebuild holds the
// statistics (stat_state row 1), the receiver queues instead of waiting for
// it. A burst of concurrent deliveries may queue some; every answer stays
// exact whichever way each PR went.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { holdLock } from './scaffold.mjs';
import { acme, deliver, isoSecond, makePR } from './webhooks.mjs';

const SECRET = 'roll-test-secret';
const { ORG, REPO, TEAM } = acme;
const ANN = acme.user(100, 'ann');
const BOB = acme.user(101, 'bob');
const iso = isoSecond;
const now0 = Date.now();
const monthStart = Date.UTC(new Date(now0).getUTCFullYear(), new Date(now0).getUTCMonth(), 1);
const created = iso(Math.max(monthStart + 60e3, now0 - 10 * 60e3));	// this month
let s;

async function hook(event, payload) {
  const r = await deliver(s, event, payload, { secret: SECRET });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.status, 'processed', r.text);
}
const opened = (id, user) => makePR({ id, number: id, repo: REPO, user, action: 'opened', state: 'open',
  created_at: created, updated_at: created, closed_at: null, merged_at: null, merged: false, labels: [] });
const merged = (id, user) => {
  const at = iso(now0 - 60e3);
  return makePR({ id, number: id, repo: REPO, user, action: 'closed', state: 'closed',
    created_at: created, updated_at: at, closed_at: at, merged_at: at, merged: true, labels: [] });
};
const queued = async (id) => Number((await s.sql(`SELECT COUNT(*) FROM stat_queue WHERE pr_id = ${id}`))[0][0]);
// this month's leaderboard: alpha's created and merged
async function alpha() {
  const r = await s.get('/api/leaderboard?period=month');
  assert.equal(r.status, 200, r.text);
  const t = r.json.teams.find((x) => x.slug === 'alpha');
  return { created: t.created, merged: t.merged };
}

before(async () => {
  s = await startStack({
    workers: 2,
    sets: {
      'github.webhook_secret': SECRET, 'github.partner_org': 'acme', 'github.repositories': 'acme/core',
      // idle: any pause between two deliveries of this test (each is
      // followed by SQL through a new client process) is longer than this
      'hook.roll_when_idle_ms': '1',
    },
  });
  await hook('team', { action: 'created', team: TEAM, organization: ORG, sender: ANN });
  for (const u of [ANN, BOB]) {
    await hook('membership', { action: 'added', scope: 'team', member: u, team: TEAM, organization: ORG, sender: ANN });
  }
  // members since ever (the admin's edit; the first answer rebuilds with it)
  await s.sql('UPDATE memberships SET started_at = NULL');
  assert.deepEqual(await alpha(), { created: 0, merged: 0 });
});
after(async () => {
  if (s) await s.stop();
});

test('an idle receiver rolls the PR in the delivery: nothing queued, the next answer has it', async () => {
  await hook('pull_request', opened(3001, ANN));
  assert.equal(await queued(3001), 0, 'rolled, not queued');
  assert.deepEqual(await s.sql('SELECT pr_id, open FROM stat_pr WHERE pr_id = 3001'), [['3001', '1']]);
  assert.deepEqual(await alpha(), { created: 1, merged: 0 });
  await hook('pull_request', merged(3001, ANN));
  assert.equal(await queued(3001), 0);
  assert.deepEqual(await s.sql('SELECT open, merged_at IS NOT NULL FROM stat_pr WHERE pr_id = 3001'), [['0', '1']]);
  assert.deepEqual(await alpha(), { created: 1, merged: 1 });
});

test('while a rebuild holds the statistics, the receiver queues the PR instead of waiting', async () => {
  // a session holding stat_state row 1 as a rebuild does (lib/rollup.c rebuild_locked)
  const held = await holdLock(s, 'SELECT id FROM stat_state WHERE id = 1 FOR UPDATE', 'roll_test_holder');
  const t0 = Date.now();
  await hook('pull_request', opened(3002, BOB));
  assert.ok(Date.now() - t0 < 5000, 'the delivery did not wait for the lock');
  assert.equal(await queued(3002), 1, 'queued for the fold after the rebuild');
  await held.release();
  assert.deepEqual(await alpha(), { created: 2, merged: 1 }, 'the reader folded it');
  assert.equal(await queued(3002), 0);
});

test('a burst of deliveries: whatever a busy receiver queued, the next answer counts every PR', async () => {
  const ids = Array.from({ length: 24 }, (_, i) => 3100 + i);
  await Promise.all(ids.map((id, i) => hook('pull_request', opened(id, i % 2 ? ANN : BOB))));
  assert.deepEqual(await alpha(), { created: 26, merged: 1 });
  await Promise.all(ids.slice(0, 10).map((id, i) => hook('pull_request', merged(id, i % 2 ? ANN : BOB))));
  assert.deepEqual(await alpha(), { created: 26, merged: 11 });
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM stat_queue'), [['0']]);
  const [[n]] = await s.sql('SELECT COUNT(*) FROM stat_pr WHERE pr_id BETWEEN 3100 AND 3123');
  assert.equal(Number(n), 24);
});
