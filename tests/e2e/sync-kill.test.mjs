// lb-syncd killed with SIGKILL in the middle of a page (#18): a page is one
// transaction, so the database holds whole pages only; the next daemon
// resumes the walk at the page in flight and the statistics are exact.
//
// Mid-page, deterministically: LB_TEST_KILL_IN_PAGE=3 makes lb-syncd kill
// itself (SIGKILL) inside page 3's transaction, once the page's PRs are
// written and before its checkpoint and COMMIT (lib/sync.c kill_in_page);
// its last log line says how many PRs it had written. Expected values come
// from the double's pages, fetched by the test itself, and api-model.mjs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { BUILD } from './harness.mjs';
import { daemon, fileStack, githubDouble, holdSchedules } from './scaffold.mjs';
import { assertDbMatches } from './double-compare.mjs';
import { assertStats as walkStats, model as walkModel, pages as walkPages } from './walk-model.mjs';

const TOKEN = 'kill-test-token';
const REPO = 'acme/kill';
const N = 500;	// 5 pages
const PAGE = '/repos/acme/kill/pulls';

const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => d.generate({ seed: 29, org: 'acme',
  teams: 0, members: 0, outsiders: 7, repos: { [REPO]: N } }));
const s = await fileStack({ sets: {
  'github.api_url': dbl.url, 'github.token': TOKEN, 'github.repositories': REPO,
} });
await holdSchedules(s);

const model = (prs) => walkModel(prs, [REPO]);
const assertStats = (m, label) => walkStats(s, m, label);
const pulls = () => dbl.requests.filter((r) => r.path === PAGE && r.status === 200).map((r) => r.query.page || '1');

test('kill -9 in the middle of a page: no half page stored, the next run resumes, statistics exact', async () => {
  const served = await walkPages(dbl, TOKEN, REPO);
  assert.equal(served.length, 5);
  dbl.clearRequests();
  const q = await s.admin(['sync', 'prs', REPO, '--full']);
  assert.equal(q.code, 0, q.stderr);
  const jobId = /job (\d+)/.exec(q.stdout)[1];

  const d1 = spawn(path.join(BUILD, 'lb-syncd'), ['--config', s.config],
    { env: { ...(s.env || process.env), LB_TEST_KILL_IN_PAGE: '3' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let log1 = '';
  d1.stderr.on('data', (d) => { log1 += d; });
  after(() => d1.kill('SIGKILL'));	// a failed test leaves nothing running
  const end = await new Promise((resolve) => d1.on('exit', (code, sig) => resolve({ code, sig })));
  assert.equal(end.sig, 'SIGKILL', log1);
  const m = /SIGKILL in page 3, (\d+) PRs written, not committed/.exec(log1);
  assert.ok(m, `killed inside page 3's transaction\n${log1}`);
  assert.equal(m[1], '100', 'the whole page was written when it died');

  const want2 = served.slice(0, 2).flat();
  const ids = (await s.sql('SELECT id FROM pull_requests ORDER BY id')).map((r) => Number(r[0]));
  assert.deepEqual(ids, want2.map((p) => p.id).sort((a, b) => a - b), 'exactly pages 1 and 2: no half page');
  const [[hist, labelled]] = await s.sql('SELECT (SELECT COUNT(DISTINCT pr_id) FROM pr_history), ' +
    '(SELECT COUNT(DISTINCT pr_id) FROM pr_labels WHERE pr_id NOT IN (SELECT id FROM pull_requests))');
  assert.deepEqual([hist, labelled], ['200', '0'], 'history and labels of the stored PRs only');
  const [[page]] = await s.sql(`SELECT JSON_VALUE(detail, '$.pages') FROM sync_state WHERE name = 'prs:${REPO}'`);
  assert.equal(page, '2', 'the checkpoint is that of page 2');
  const [[state]] = await s.sql(`SELECT state FROM jobs WHERE id = ${jobId}`);
  assert.equal(state, 'running', 'the killed daemon still holds the job');
  // what the dead daemon left in the queue is folded by the reader (its
  // fold lease, of a process that died, is taken over at once)
  await assertStats(model(want2), 'after the kill');

  dbl.clearRequests();
  const d2 = daemon(s, ['--once']);
  after(() => d2.kill('SIGKILL'));
  assert.equal((await d2.done).code, 0, d2.log);
  assert.deepEqual(pulls(), ['3', '4', '5'], 'resumed at the page in flight, each page once');
  const [job] = await s.sql(`SELECT state, attempts FROM jobs WHERE id = ${jobId}`);
  assert.deepEqual(job, ['done', '2']);
  await assertDbMatches(s, dbl);
  const [[q2]] = await s.sql('SELECT COUNT(*) FROM stat_queue');
  assert.equal(q2, '0');
  await assertStats(model(served.flat()), 'after the resumed run');
});
