// [hook] keep_deliveries_days: lb-syncd purges raw deliveries older than the
// limit and keeps newer ones and every normalized row.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { deliver, examples } from './webhooks.mjs';

test('lb-syncd --once purges deliveries older than keep_deliveries_days, keeps the rest', async () => {
  const secret = 'retention-secret';
  const s = await startStack({ sets: { 'github.webhook_secret': secret, 'hook.keep_deliveries_days': '30' } });
  after(() => s.stop());

  const [oldPr, newPr] = examples('pull_request', 'opened');
  newPr.pull_request.id = oldPr.pull_request.id + 1;
  newPr.pull_request.number = oldPr.pull_request.number + 1;
  const a = await deliver(s, 'pull_request', oldPr, { secret });
  const b = await deliver(s, 'pull_request', newPr, { secret });
  assert.equal(a.status, 202);
  assert.equal(b.status, 202);
  // age the first delivery past the limit (31 days) and leave the second at 29
  await s.sql(`UPDATE deliveries SET received_at = UTC_TIMESTAMP(6) - INTERVAL 31 DAY WHERE id = '${a.id}'`);
  await s.sql(`UPDATE deliveries SET received_at = UTC_TIMESTAMP(6) - INTERVAL 29 DAY WHERE id = '${b.id}'`);

  const r = await s.prog('lb-syncd', ['--once']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await s.sql('SELECT id FROM deliveries ORDER BY id'), [[b.id]]);
  // the PR the purged delivery created is still there
  const prs = await s.sql(`SELECT id FROM pull_requests WHERE id IN (${oldPr.pull_request.id}, ${newPr.pull_request.id}) ORDER BY id`);
  assert.deepEqual(prs.map((x) => Number(x[0])), [oldPr.pull_request.id, newPr.pull_request.id]);
});

test('keep_deliveries_days = 0 keeps every delivery', async () => {
  const secret = 'retention-secret';
  const s = await startStack({ sets: { 'github.webhook_secret': secret, 'hook.keep_deliveries_days': '0' } });
  after(() => s.stop());
  const [pr] = examples('pull_request', 'opened');
  const a = await deliver(s, 'pull_request', pr, { secret });
  assert.equal(a.status, 202);
  await s.sql(`UPDATE deliveries SET received_at = '2001-01-01 00:00:00' WHERE id = '${a.id}'`);
  const r = await s.prog('lb-syncd', ['--once']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await s.sql('SELECT id FROM deliveries'), [[a.id]]);
});
