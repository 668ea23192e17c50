// Webhooks: MariaDB stopped mid-stream -> deliveries spooled (202 spooled),
// MariaDB back -> lb-syncd --once applies the spool in arrival order;
// nothing lost, nothing twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack } from './harness.mjs';
import { deliver, deliverAll, examples, makePR } from './webhooks.mjs';

const SECRET = 'spool-secret';
let s;

before(async () => {
  // keep_deliveries_days = 0: spooled files keep their (old, 2024) arrival
  // times, and lb-syncd --once must not purge them (retention.test.mjs covers that)
  s = await startStack({ sets: { 'github.webhook_secret': SECRET, 'github.partner_org': 'Octocoders',
    'github.repositories': 'acme/repo', 'hook.keep_deliveries_days': '0' } });
});
after(() => s && s.stop());

const spooled = () => fs.readdirSync(`${s.dir}/spool`).filter((f) => f.endsWith('.delivery')).sort();
const dt = (iso) => iso.replace('T', ' ').replace(/Z$/, '');

// 8 PRs x 3 snapshots each (updated_at increasing), shuffled deterministically.
function prDeliveries() {
  const out = [];
  for (let k = 0; k < 8; k++) {
    for (let v = 0; v < 3; v++) {
      out.push({
        event: 'pull_request', id: `sp-pr-${k}-${v}`,
        payload: makePR({ id: 440000 + k, number: 100 + k, title: `pr ${k} v${v}`,
          repo: { id: 44, name: 'repo', owner: { login: 'acme', id: 43 } },
          created_at: '2024-06-01T00:00:00Z', updated_at: `2024-06-0${1 + v}T00:00:00Z`,
          state: v === 2 ? 'closed' : 'open', closed_at: v === 2 ? '2024-06-03T00:00:00Z' : null,
          merged_at: v === 2 && k % 2 ? '2024-06-03T00:00:00Z' : null }),
      });
    }
  }
  // interleave: v2 of some PRs before their v0
  return out.map((d, i) => [(i * 7) % out.length, d]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
}

test('MariaDB stopped mid-stream: spooled, applied by lb-syncd --once in order, nothing lost or twice', async () => {
  const prs = prDeliveries();
  const m = examples('membership', 'added')[0];
  const user = { ...m.member, id: 4400001, login: 'spool-user' };
  const team = { ...m.team, id: 4400002, slug: 'spool-team', name: 'Spool team' };
  const added = { event: 'membership', id: 'sp-m-added', payload: { ...m, member: user, team } };
  const removed = { event: 'membership', id: 'sp-m-removed', payload: { ...m, action: 'removed', member: user, team } };
  const ignored = { event: 'star', id: 'sp-star', payload: { action: 'created', starred_at: null } };

  const first = prs.slice(0, 8), middle = prs.slice(8, 16), last = prs.slice(16);
  let res = await deliverAll(s, first, { secret: SECRET });
  for (const r of res) assert.equal(r.json?.status, 'processed', r.text);

  // stop MariaDB while deliveries keep coming (4 in flight)
  const stream = [...middle, added, removed, ignored, { ...first[0] }];	// first[0] again: a duplicate
  const stopping = s.dbStop();
  res = await deliverAll(s, stream, { secret: SECRET, concurrency: 4 });
  await stopping;
  for (const r of res) {
    assert.equal(r.status, 202, r.text);
    assert.ok(['processed', 'spooled', 'duplicate', 'ignored'].includes(r.json.status), r.text);
  }
  // once it is down, every delivery is spooled, in order
  const down = [{ ...added, id: 'sp-m-added-2', payload: { ...added.payload, member: { ...user, id: 4400003, login: 'u3' } } },
    { ...removed, id: 'sp-m-removed-2', payload: { ...removed.payload, member: { ...user, id: 4400003, login: 'u3' } } }];
  for (const d of down) {
    const r = await deliver(s, d.event, d.payload, { secret: SECRET, id: d.id });
    assert.deepEqual(r.json, { delivery: d.id, status: 'spooled' });
  }
  const files = spooled();
  assert.ok(files.length >= 2, `spool: ${files}`);
  // lb-syncd --once while MariaDB is still down: fails, the spool stays
  let once = await s.prog('lb-syncd', ['--once']);
  assert.notEqual(once.code, 0);
  assert.deepEqual(spooled(), files);

  await s.dbStart();
  res = await deliverAll(s, last, { secret: SECRET });
  for (const r of res) assert.equal(r.json?.status, 'processed', r.text);

  once = await s.prog('lb-syncd', ['--once']);
  assert.equal(once.code, 0, once.stderr);
  assert.deepEqual(spooled(), []);

  // every delivery is stored exactly once
  const ids = [...prs, added, removed, ignored, ...down].map((d) => d.id).sort();
  const rows = await s.sql("SELECT id, outcome FROM deliveries WHERE id LIKE 'sp-%' ORDER BY id");
  assert.deepEqual(rows.map((r) => r[0]), ids);
  assert.deepEqual(rows.filter((r) => r[1] !== 'processed').map((r) => r.join(':')), ['sp-star:ignored']);
  // every PR row is its newest snapshot
  for (let k = 0; k < 8; k++) {
    const [[title, upd, state, merged]] = await s.sql(`SELECT title, updated_at, state, merged
      FROM pull_requests WHERE id = ${440000 + k}`);
    assert.deepEqual([title, upd, state, merged], [`pr ${k} v2`, dt('2024-06-03T00:00:00Z'), 'closed', k % 2 ? '1' : '0']);
  }
  // membership intervals: from when the deliveries arrived, in arrival order.
  // (The first pair went out concurrently: either may have arrived first.)
  for (const [uid, a, r] of [[4400001, 'sp-m-added', 'sp-m-removed'], [4400003, 'sp-m-added-2', 'sp-m-removed-2']]) {
    const got = await s.sql(`SELECT IFNULL(started_at, 'NULL'), IFNULL(ended_at, 'NULL') FROM memberships
      WHERE user_id = ${uid} ORDER BY ended_at IS NULL, ended_at`);
    const [[ta, tr, pa, pr]] = await s.sql(`SELECT (SELECT received_at FROM deliveries WHERE id = '${a}'),
      (SELECT received_at FROM deliveries WHERE id = '${r}'),
      (SELECT processed_at FROM deliveries WHERE id = '${a}'),
      (SELECT processed_at FROM deliveries WHERE id = '${r}')`);
    // added applied first: one closed interval [added, removed]. removed applied
    // first (it arrived first, or the concurrent 'added' raced the stopping
    // database into the spool and was applied later): a member "since always"
    // until the removal, then an addition received after the removal opens a
    // new interval, and one received before it gives that interval its start.
    let want;
    if (pa < pr) want = [[ta, tr]];
    else want = ta > tr ? [['NULL', tr], [ta, 'NULL']] : [[ta, tr]];
    assert.deepEqual(got, want, `user ${uid}`);
    if (uid === 4400003) assert.ok(ta < tr, 'spooled deliveries keep their arrival order');
  }
  // a second run has nothing to do
  once = await s.prog('lb-syncd', ['--once']);
  assert.equal(once.code, 0, once.stderr);
  assert.deepEqual(await s.sql("SELECT COUNT(*) FROM deliveries WHERE id LIKE 'sp-%'"), [[String(ids.length)]]);
});

test('an addition spooled before a removal that committed first gives the interval its start', async () => {
  const m = examples('membership', 'added')[0];
  const user = { ...m.member, id: 4400011, login: 'late-add' };
  const team = { ...m.team, id: 4400002, slug: 'spool-team', name: 'Spool team' };
  await s.dbStop();
  let r = await deliver(s, 'membership', { ...m, member: user, team }, { secret: SECRET, id: 'sp-late-added' });
  assert.equal(r.json.status, 'spooled');
  await s.dbStart();
  r = await deliver(s, 'membership', { ...m, action: 'removed', member: user, team },
    { secret: SECRET, id: 'sp-late-removed' });
  assert.equal(r.json.status, 'processed');
  // until the spool is applied: a member since always, until the removal
  const [[tr]] = await s.sql("SELECT received_at FROM deliveries WHERE id = 'sp-late-removed'");
  const intervals = () => s.sql("SELECT IFNULL(started_at, 'NULL'), IFNULL(ended_at, 'NULL') FROM memberships WHERE user_id = 4400011");
  assert.deepEqual(await intervals(), [['NULL', tr]]);
  const once = await s.prog('lb-syncd', ['--once']);
  assert.equal(once.code, 0, once.stderr);
  const [[ta]] = await s.sql("SELECT received_at FROM deliveries WHERE id = 'sp-late-added'");
  assert.ok(ta < tr, `${ta} < ${tr}`);
  assert.deepEqual(await intervals(), [[ta, tr]]);
});

test('a corrupt spool file is set aside and does not block the others', async () => {
  const dir = `${s.dir}/spool`;
  fs.writeFileSync(`${dir}/00000000000000000001-0000000001-00000001.delivery`, 'no header line at all');
  fs.writeFileSync(`${dir}/00000000000000000002-0000000001-00000002.delivery`,
    '{"delivery":"../x","event":"ping","received_at":"2024-01-01 00:00:00"}\n{}');
  // a valid one written like lb-hook writes it
  const ping = examples('ping')[0];
  fs.writeFileSync(`${dir}/00000000000000000003-0000000001-00000003.delivery`,
    `${JSON.stringify({ delivery: 'sp-file-1', event: 'ping', hook_id: null, received_at: '2024-01-01 00:00:00.000000',
      content_type: 'application/json' })}\n${JSON.stringify(ping)}`);
  const once = await s.prog('lb-syncd', ['--once']);
  assert.equal(once.code, 0, once.stderr);
  assert.deepEqual(spooled(), []);
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.corrupt')).length, 2);
  assert.deepEqual(await s.sql("SELECT event, outcome, received_at FROM deliveries WHERE id = 'sp-file-1'"),
    [['ping', 'processed', '2024-01-01 00:00:00.000000']]);
});
