// lib/store's page path (store_prs(): a page of lb-syncd's walk, or of
// lb-hook's group, in a few multi-row statements) against rows that other
// writers changed.
//
// Two writers store the same new PR at once: the page, and a delivery on
// another connection. A PR not stored yet takes no lock, so the delivery can
// insert it between the page's read of its rows and its INSERT. Whatever the
// order, the newer snapshot wins, with its labels. To make the race
// deterministic, the page's author has another login in the database than on
// GitHub (the page rewrites the users row), and a session holds that row:
// the page has read its PRs (none stored) and waits. The deliveries then
// store the same PRs (their author as the database has it: they write no
// users row), one newer than GitHub's snapshot, one older. Then the session
// is killed and the page goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileStack, githubDouble, holdLock, holdSchedules, until } from './scaffold.mjs';
import { deliver } from './webhooks.mjs';

const TOKEN = 'ghp_storeRACE0123456789';
const SECRET = 'race-secret';
const DAY = 86400000;
const t0 = Date.parse('2024-03-01T10:00:00Z');

let dev, repo, ahead, behind;
const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => {
  dev = d.addUser('dev-1');
  d.addTeam('team-1', 'Partner 1').members.add(dev.id);
  repo = d.addRepo('acme/widgets');
  const bug = repo.labels[0].id;
  // GitHub: "ahead" labeled bug on day 2 (a delivery brings day 3, unlabeled);
  // "behind" unlabeled on day 3 (a delivery brings day 2, labeled)
  ahead = d.addPull('acme/widgets', { userId: dev.id, created: t0, labels: [bug] });
  ahead.updated = t0 + 2 * DAY;
  behind = d.addPull('acme/widgets', { userId: dev.id, created: t0, labels: [] });
  behind.updated = t0 + 3 * DAY;
  for (let i = 0; i < 4; i++) d.addPull('acme/widgets', { userId: dev.id, created: t0 + i * 3600e3 });
  repo.sorted = null;
});
const s = await fileStack({ sets: {
  'github.api_url': dbl.url, 'github.token': TOKEN, 'github.partner_org': 'acme',
  'github.repositories': 'acme/widgets', 'github.webhook_secret': SECRET,
  // a sanitizer build is slow: the held page must not count as a stalled server
  'database.timeout': '60s',
} });
await holdSchedules(s);

// a delivery of PR p as it was at `updated` with `labels`, its author as stored
function snapshot(p, updated, labels, action) {
  const pr = dbl.pullObj(repo, { ...p, updated, labels }, true);
  pr.user = { ...pr.user, login: 'dev-1-renamed' };
  return { action, number: p.number, pull_request: pr, repository: dbl.repoObj(repo),
    sender: pr.user, ...(action === 'labeled' || action === 'unlabeled' ? { label: dbl.labelObj(repo, repo.labels[0].id) } : {}) };
}

test('a page and a delivery store the same new PRs at once: the newer snapshot wins, labels too', async () => {
  const teams = await s.admin(['sync', 'teams', '--now']);
  assert.equal(teams.code, 0, teams.stderr);
  await s.sql(`UPDATE users SET login = 'dev-1-renamed' WHERE id = ${dev.id}`);
  assert.deepEqual(await s.sql(`SELECT login FROM users WHERE id = ${dev.id}`), [['dev-1-renamed']]);
  const held = await holdLock(s, `SELECT id FROM users WHERE id = ${dev.id} FOR UPDATE`, 'store_page_holder');

  const walk = s.admin(['sync', 'prs', 'acme/widgets', '--full', '--now']);
  // its INSERT of the users row runs: it waits for the held row
  await until('the page writes the users row', async () => (await s.sql(
    "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE command = 'Execute' "
    + "AND info LIKE 'INSERT INTO users %'"))[0][0] === '1');
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM pull_requests'), [['0']], 'the page has stored nothing yet');

  const bug = repo.labels[0].id;
  for (const d of [snapshot(ahead, t0 + 3 * DAY, [], 'unlabeled'), snapshot(behind, t0 + 2 * DAY, [bug], 'labeled')]) {
    const r = await deliver(s, 'pull_request', d, { secret: SECRET });
    assert.deepEqual([r.status, r.json && r.json.status], [202, 'processed'], r.text);
  }
  await held.release();
  const w = await walk;
  assert.equal(w.code, 0, w.stderr);

  const row = (p) => s.sql(`SELECT DATE_FORMAT(updated_at, '%Y-%m-%d'), `
    + `(SELECT COUNT(*) FROM pr_labels WHERE pr_id = p.id) FROM pull_requests p WHERE id = ${p.id}`);
  assert.deepEqual(await row(ahead), [['2024-03-04', '0']], 'the delivery is newer: its row, without the label GitHub\'s older snapshot had');
  assert.deepEqual(await row(behind), [['2024-03-04', '0']], 'GitHub is newer: its row, without the label of the older delivery');
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM pull_requests'), [['6']], 'the rest of the page stored');
});

test('a label set that differs from its stored fingerprint is rewritten by the next full walk', async () => {
  // (the integrity check's repair of a labels count is such a walk)
  const [labelled] = repo.pulls.filter((p) => p.labels.length === 0 && p !== behind && p !== ahead);
  const bug = repo.labels[0].id;
  await s.sql(`INSERT INTO labels (id, repo_id, name) VALUES (${bug}, ${repo.id}, 'bug') ON DUPLICATE KEY UPDATE name = name`);
  await s.sql(`INSERT INTO pr_labels (pr_id, label_id) VALUES (${labelled.id}, ${bug}), (${behind.id}, ${bug})`);
  const w = await s.admin(['sync', 'prs', 'acme/widgets', '--full', '--now']);
  assert.equal(w.code, 0, w.stderr);
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM pr_labels'), [['0']], 'GitHub\'s sets: no label anywhere');
});
