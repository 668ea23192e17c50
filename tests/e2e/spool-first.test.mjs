// The hook spool goes first, whatever the job queue holds. lb-syncd as a
// daemon, with a queue of jobs that keep failing slowly against GitHub (each
// attempt ~40 s of answers that are errors, and retries): deliveries spooled
// while MariaDB was stopped are applied within seconds of its restart, while
// the jobs are still failing. And lb-syncd --once is one pass: the spool,
// then each job claimable when the pass began, at most once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { daemon, fileStack, githubDouble, holdSchedules, until } from './scaffold.mjs';
import { deliverAll, makePR } from './webhooks.mjs';

const TOKEN = 'spool-first-token';
const SECRET = 'spool-first-secret';

const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => d.generate({ seed: 5, org: 'acme',
  teams: 1, members: 2, outsiders: 2, repos: { 'acme/slow': 10 } }));

const s = await fileStack({ sets: {
  'github.api_url': dbl.url, 'github.token': TOKEN, 'github.repositories': 'acme/slow',
  'github.webhook_secret': SECRET,
} });
await holdSchedules(s);

const spooled = () => fs.readdirSync(`${s.dir}/spool`).filter((f) => f.endsWith('.delivery'));

const queueJobs = (numbers) => s.sql(`INSERT INTO jobs (kind, args, dedupe_key) VALUES ${numbers.map((n) =>
  `('sync_pr', '{"repo":"acme/slow","number":${n}}', 'pr:acme/slow#${n}')`).join(', ')}`);
const jobStates = async (numbers) => (await s.sql(`SELECT state, attempts FROM jobs
  WHERE dedupe_key IN (${numbers.map((n) => `'pr:acme/slow#${n}'`).join(', ')}) ORDER BY id`));

test('spooled deliveries are applied within seconds of MariaDB returning while every job keeps failing', async () => {
  dbl.clearRequests();
  // GitHub answers every PR request with a 502, after a second: one attempt
  // of a job is 6 requests and 31 s of backoff between them
  dbl.delayMs = 1000;
  dbl.fault(502, '^/repos/acme/slow/pulls/', 1000000);
  const numbers = [1, 2, 3];
  await queueJobs(numbers);
  const d = daemon(s);
  try {
    await until('the first job failing against GitHub', () => dbl.requests.some((r) => r.status === 502));

    await s.dbStop();
    const list = [];
    for (let k = 0; k < 20; k++) {
      list.push({ event: 'pull_request', id: `sf-pr-${k}`, payload: makePR({ id: 660000 + k, number: 600 + k,
        title: `spool first ${k}`, repo: { id: 66, name: 'slow', owner: { login: 'acme', id: 63 } },
        created_at: '2024-08-01T00:00:00Z', updated_at: '2024-08-02T00:00:00Z' }) });
    }
    const res = await deliverAll(s, list, { secret: SECRET, concurrency: 4 });
    for (const r of res) assert.equal(r.json?.status, 'spooled', r.text);
    assert.equal(spooled().length, list.length);
    await s.dbStart();

    // drained promptly (a generous deadline: the job in progress alone has
    // half a minute of GitHub retries left, the queue minutes)
    await until('the spool applied', async () => spooled().length === 0 &&
      (await s.sql("SELECT COUNT(*) FROM deliveries WHERE id LIKE 'sf-pr-%' AND outcome = 'processed'"))[0][0] ===
      String(list.length), 15000);
    // ... while the jobs are still failing: none got anywhere, one is still at its first attempt
    const states = await jobStates(numbers);
    assert.deepEqual(states.filter(([st]) => st === 'done'), []);
    assert.deepEqual(states.filter(([st]) => st === 'running'), [['running', '1']], JSON.stringify(states));
    assert.equal(states.filter(([st, att]) => st === 'queued' && att === '0').length, 2, JSON.stringify(states));
    assert.deepEqual(await s.sql("SELECT COUNT(*) FROM pull_requests WHERE id BETWEEN 660000 AND 660019"), [['20']]);
  } finally {
    d.kill('SIGTERM');
    await d.done;
    dbl.faults = [];
    dbl.delayMs = 0;
    await s.sql("DELETE FROM jobs WHERE dedupe_key LIKE 'pr:acme/slow#%'");
  }
  assert.equal((await d.done).code, 0, d.log);
  assert.match(d.log, /spool: \d+ deliveries applied/);
});

test('lb-syncd --once runs the jobs claimable when its pass begins, each once; a job queued meanwhile waits', async () => {
  dbl.clearRequests();
  dbl.delayMs = 1500;	// the first job takes a while
  await queueJobs([4]);
  const once = daemon(s, ['--once']);
  try {
    await until('the first job running', async () => (await jobStates([4]))[0][0] === 'running');
    await queueJobs([5]);	// ready at once, but queued after the pass began
  } finally {
    await once.done;
    dbl.delayMs = 0;
  }
  assert.equal((await once.done).code, 0, once.log);
  assert.deepEqual(await jobStates([4, 5]), [['done', '1'], ['queued', '0']]);
  assert.deepEqual(dbl.requests.map((r) => r.path), ['/repos/acme/slow/pulls/4']);
  // the next run takes it
  const again = daemon(s, ['--once']);
  assert.equal((await again.done).code, 0, again.log);
  assert.deepEqual(await jobStates([4, 5]), [['done', '1'], ['done', '1']]);
});
