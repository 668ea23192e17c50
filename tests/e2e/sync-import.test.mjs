// A large full walk is an import (#18, sql/020): its pages record their PRs
// in stat_import instead of stat_queue, the statistics are rebuilt once when
// the walk ends, and the numbers are exact. An import killed with SIGKILL
// leaves whole pages stored but not counted; lb-syncd counts them once they
// are 10 minutes old, and the resumed walk counts the rest. Expected values
// come from the double's pages, fetched by the test itself, and
// api-model.mjs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { daemon, fileStack, githubDouble, holdSchedules, until } from './scaffold.mjs';
import { assertDbMatches } from './double-compare.mjs';
import { assertStats as walkStats, model as walkModel, pages as walkPages } from './walk-model.mjs';

const TOKEN = 'import-test-token';
const REPOS = { 'acme/one': 800, 'acme/two': 800, 'acme/three': 200 };	// 8, 8 and 2 pages
const IMPORT_PRS = 300;	// [sync] import_prs: a walk with 3 pages or more ahead is an import

const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => d.generate({ seed: 31, org: 'acme',
  teams: 0, members: 0, outsiders: 9, repos: REPOS }));
const s = await fileStack({ sets: {
  'github.api_url': dbl.url, 'github.token': TOKEN, 'github.repositories': Object.keys(REPOS).join(','),
  'sync.import_prs': String(IMPORT_PRS),
} });
await holdSchedules(s);

const pages = (repo) => walkPages(dbl, TOKEN, repo);
const model = (prs) => walkModel(prs, Object.keys(REPOS));
const assertStats = (m, label) => walkStats(s, m, label);

const count = async (table) => (await s.sql(`SELECT COUNT(*) FROM ${table}`))[0][0];
const served = {};

test('a full walk with more PRs ahead than import_prs is an import: one rebuild at its end, statistics exact', async () => {
  served.one = (await pages('acme/one')).flat();
  served.two = await pages('acme/two');
  assert.equal(served.one.length, 800);
  assert.equal(served.two.length, 8);
  await assertStats(model([]), 'before');

  const q = await s.admin(['sync', 'prs', 'acme/one', '--full']);
  assert.equal(q.code, 0, q.stderr);
  const d = daemon(s, ['--once']);
  after(() => d.kill('SIGKILL'));
  assert.equal((await d.done).code, 0, d.log);
  assert.match(d.log, /acme\/one: import: the statistics are rebuilt once when the walk ends/);
  assert.match(d.log, /rollup: 800 imported PRs counted/);
  assert.doesNotMatch(d.log, /warn|error/i);
  assert.deepEqual(await s.sql("SELECT state FROM jobs WHERE kind = 'sync_prs'"), [['done']]);
  assert.equal(await count('stat_import'), '0', 'every imported PR counted');
  assert.equal(await count('stat_queue'), '0');
  assert.equal(await count('pr_history'), '800', 'one history row per stored PR');
  // the rollups were built (empty) before: the import's history of settled
  // months is the repository's first, not late changes
  assert.equal(await count('stat_changes'), '0', 'no late changes');
  await assertStats(model(served.one), 'after the import');
});

test('an import killed in the middle: its whole pages wait, counted after 10 minutes; the resumed walk counts the rest', async () => {
  // the walk reads page 5 ahead while it stores page 4: holding page 5
  // stops it after page 4's transaction
  const held = dbl.hold(/^\/repos\/acme\/two\/pulls\?.*[?&]page=5(&|$)/);
  const q = await s.admin(['sync', 'prs', 'acme/two', '--full']);
  assert.equal(q.code, 0, q.stderr);
  const jobId = /job (\d+)/.exec(q.stdout)[1];
  const d1 = daemon(s);
  after(() => d1.kill('SIGKILL'));
  await until('page 4 committed', async () => {
    const [row] = await s.sql("SELECT JSON_VALUE(detail, '$.pages') FROM sync_state WHERE name = 'prs:acme/two'");
    return row && row[0] === '4';
  }, 60000);
  d1.kill('SIGKILL');
  assert.equal((await d1.done).sig, 'SIGKILL');
  held.release();
  assert.match(d1.log, /acme\/two: import: the statistics are rebuilt once/);

  // four whole pages stored, in stat_import, not counted yet
  const stored = served.two.slice(0, 4).flat();
  assert.equal(await count(`pull_requests WHERE repo_id = ${stored[0].base.repo.id}`), '400');
  assert.deepEqual(await s.sql('SELECT COUNT(*), MIN(n) FROM stat_import'), [['400', '1']]);
  assert.equal(await count('stat_queue'), '0');
  await assertStats(model(served.one), 'killed: the import not counted yet');

  // an import whose newest page is 10 minutes old stopped: the next
  // lb-syncd pass counts it before it resumes the walk (its job is the
  // killed daemon's, on this host: taken over at once)
  await s.sql('UPDATE stat_import SET at = at - INTERVAL 11 MINUTE');
  const d2 = daemon(s, ['--once']);
  after(() => d2.kill('SIGKILL'));
  assert.equal((await d2.done).code, 0, d2.log);
  const order = ['PRs of an import that stopped wait in stat_import: rebuilding', 'rollup: 400 imported PRs counted',
    'acme/two: resuming the full walk at page 5', 'acme/two: import: the statistics are rebuilt once',
    'rollup: 400 imported PRs counted'];
  let at = 0;
  for (const line of order) {
    const i = d2.log.indexOf(line, at);
    assert.ok(i >= 0, `"${line}" after offset ${at} in:\n${d2.log}`);
    at = i + line.length;
  }
  assert.deepEqual(await s.sql(`SELECT state, attempts FROM jobs WHERE id = ${jobId}`), [['done', '2']]);
  assert.equal(await count('stat_import'), '0');
  assert.equal(await count('stat_queue'), '0');
  assert.equal(await count('pull_requests'), '1600', 'each PR once');
  assert.equal(await count('stat_changes'), '0', 'no late changes');
  await assertStats(model([...served.one, ...served.two.flat()]), 'after the resumed import');
});

test('a walk with fewer PRs ahead than import_prs folds page by page', async () => {
  const three = (await pages('acme/three')).flat();
  assert.equal(three.length, 200);
  const r = await s.admin(['sync', 'prs', 'acme/three', '--full']);
  assert.equal(r.code, 0, r.stderr);
  const d = daemon(s, ['--once']);
  after(() => d.kill('SIGKILL'));
  assert.equal((await d.done).code, 0, d.log);
  assert.doesNotMatch(d.log, /import|rebuil/, 'no import, no rebuild');
  assert.equal(await count('stat_import'), '0');
  assert.equal(await count('stat_queue'), '0');
  await assertDbMatches(s, dbl);
  await assertStats(model([...served.one, ...served.two.flat(), ...three]), 'after a walk folded page by page');
});
