// Integrity checks (lib/integrity, `lb-admin check`) against the GitHub API
// double: after a backfill the database equals the double; then rows are
// deleted, made outdated, memberships and users dropped, the double gets PRs
// and failed hook deliveries we never saw, a delivery fails to apply and one
// stays in the spool. One check names each gap with the right check; its
// repairs (run by lb-syncd --once) bring the database back to exactly the
// double's state, the double receives the redelivery requests, and a second
// check finds nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startStack } from './harness.mjs';
import { deliver, deliveryId, examples } from './webhooks.mjs';
import { githubDouble } from './scaffold.mjs';
import { addHook, addHookDelivery } from '../github-double/integrity.mjs';

const TOKEN = 'ghp_integrityTOKEN0123456789';
const SECRET = 'integrity-secret';
const REPOS = { 'acme/widgets': 210, 'other/lib': 140 };
const HOOK = 4242;
const ADMIN = 'integrity-admin-token';
const DAY = 86400000;

const dbl = await githubDouble({ token: TOKEN, org: 'acme' },
  (d) => d.generate({ seed: 23, org: 'acme', teams: 3, members: 4, outsiders: 4, repos: REPOS }));

let s;
after(() => s && s.stop());

const isoSql = (col) => `DATE_FORMAT(${col}, '%Y-%m-%dT%H:%i:%sZ')`;
const N = (v) => (v === 'NULL' ? null : v);
const month = (ms) => new Date(ms).toISOString().slice(0, 7);
const sqlStr = (v) => `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

async function syncdOnce() {
  const r = await s.prog('lb-syncd', ['--once']);
  assert.equal(r.code, 0, `lb-syncd --once failed: ${r.stderr}`);
  return r;
}

async function check(args = []) {
  const r = await s.admin(['check', '--json', ...args]);
  assert.equal(r.code, 0, `lb-admin check: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// The database holds exactly what the double serves.
async function assertDbEqualsDouble() {
  const snap = dbl.snapshot();
  const want = snap.pulls.slice().sort((a, b) => a.id - b.id);
  const rows = await s.sql(`SELECT p.id, r.full_name, p.number, p.author_id, p.state, p.merged,
    ${isoSql('p.created_at')}, ${isoSql('p.updated_at')}, ${isoSql('p.closed_at')}, ${isoSql('p.merged_at')}, p.title
    FROM pull_requests p JOIN repositories r ON r.id = p.repo_id ORDER BY p.id`);
  assert.equal(rows.length, want.length, 'number of pull requests');
  rows.forEach((row, i) => {
    const w = want[i];
    const p = dbl.repos.get(w.repo).byNumber.get(w.number);
    assert.deepEqual(row.map(N), [String(w.id), w.repo, String(w.number), String(w.author_id), w.state,
      String(w.merged), w.created_at, w.updated_at, w.closed_at, w.merged_at, p.title], `PR ${w.repo}#${w.number}`);
  });
  const labels = await s.sql(`SELECT pr_id, GROUP_CONCAT(label_id ORDER BY label_id) FROM pr_labels
    GROUP BY pr_id ORDER BY pr_id`);
  assert.deepEqual(labels, want.filter((p) => p.labels.length).map((p) => [String(p.id), p.labels.join(',')]),
    'label sets');
  const teams = await s.sql('SELECT id, slug, name FROM teams WHERE deleted_at IS NULL ORDER BY id');
  assert.deepEqual(teams, snap.teams.map((t) => [String(t.id), t.slug, t.name]), 'teams');
  const open = await s.sql('SELECT team_id, user_id FROM memberships WHERE ended_at IS NULL ORDER BY team_id, user_id');
  assert.deepEqual(open, snap.teams.flatMap((t) => t.members.map((u) => [String(t.id), String(u)])), 'memberships');
  const users = await s.sql('SELECT id, login, type FROM users ORDER BY id');
  const ids = new Set([...snap.pulls.map((p) => p.author_id), ...snap.teams.flatMap((t) => t.members)]);
  assert.deepEqual(users, [...ids].sort((a, b) => a - b).map((id) => {
    const u = dbl.users.get(id);
    return [String(id), u.login, u.type];
  }), 'users');
}

// PRs of a repo, most recently updated first (the double's page order).
function byUpdated(full) {
  return dbl.repos.get(full).pulls.slice().sort((a, b) => (b.updated - a.updated) || (b.number - a.number));
}

function prEvent(full, p, action = 'edited') {
  const r = dbl.repos.get(full);
  return { action, number: p.number, pull_request: dbl.pullObj(r, p, true), repository: dbl.repoObj(r),
    sender: dbl.userObj(p.userId) };
}

// GitHub requests of a check that finds nothing, from the double's world:
// per repo the freshness page, the labels page, three searches (created,
// merged, closed unmerged), one per label on a merged PR, one for the
// plain-named labels on none (together) and one per other label on none;
// the org's teams page, one members page per team; the hook's deliveries.
const special = (name) => /[ ,":\\]/.test(name);
function labelSearches(full) {
  const r = dbl.repos.get(full);
  const used = new Set(r.pulls.filter((p) => p.merged).flatMap((p) => p.labels));
  const zero = r.labels.filter((l) => !used.has(l.id));
  return used.size + zero.filter((l) => special(l.name)).length + (zero.some((l) => !special(l.name)) ? 1 : 0);
}
function cleanCheckRequests() {
  let n = 0;
  for (const full of dbl.repos.keys()) n += 2 + 3 + labelSearches(full);
  return n + 1 + dbl.teams.length + 1;
}
// the pages a check asks with ETags: freshness and labels per repo, teams, members per team
const keptPages = () => 2 * dbl.repos.size + 1 + dbl.teams.length;

const subjects = (doc, name) => doc.findings.filter((f) => f.check === name).map((f) => f.subject).sort();

test('a clean database gives no findings, within the request budget', async () => {
  s = await startStack({ sets: {
    'github.api_url': dbl.url, 'github.token': TOKEN, 'github.partner_org': 'acme',
    'github.repositories': Object.keys(REPOS).join(','), 'github.webhook_secret': SECRET,
    'api.admin_token': ADMIN,
  } });
  // the hook announces itself with a ping: table webhooks learns its id
  const ping = examples('ping')[0];
  ping.hook_id = HOOK;
  ping.hook = { ...ping.hook, id: HOOK, type: 'Organization' };
  ping.organization = { login: 'acme', id: dbl.orgObj.id };
  delete ping.repository;
  const pr = await deliver(s, 'ping', ping, { secret: SECRET, hookId: HOOK });
  assert.equal(pr.status, 202, pr.text);
  addHook(dbl, { id: HOOK, type: 'organization', target: 'acme' });
  // a team member who never opened a PR (the referential test drops this user)
  dbl.addMember('team-1', dbl.addUser('quiet-dev').id);
  addHookDelivery(dbl, HOOK, { guid: pr.id, event: 'ping', status_code: 202 });

  assert.equal((await s.admin(['backfill'])).code, 0);
  await syncdOnce();
  await assertDbEqualsDouble();

  // lb-syncd ran its scheduled check: GitHub has not changed since, so
  // every kept page answers 304 and its counts are believed: no search
  const searches = () => dbl.requests.filter((r) => r.path === '/search/issues').length;
  dbl.clearRequests();
  const steady = await check();
  assert.deepEqual(steady.findings, []);
  assert.equal(steady.run.status, 'ok');
  assert.deepEqual(steady.unverified, []);
  assert.equal(steady.run.requests, keptPages() + 1);
  assert.equal(steady.run.not_modified, keptPages());
  assert.equal(searches(), 0);

  // a check that keeps nothing from the last one: per repo two pages and
  // three searches + one per label; teams; the hook
  await s.sql('DELETE FROM integrity_pages');
  dbl.clearRequests();
  const doc = await check();
  assert.deepEqual(doc.findings, []);
  assert.equal(doc.run.findings, 0);
  assert.equal(doc.run.status, 'ok');
  const repos = Object.keys(REPOS).length;
  assert.equal(doc.run.requests, cleanCheckRequests());
  assert.equal(dbl.requests.length, cleanCheckRequests());
  assert.equal(dbl.requests.filter((r) => r.path === '/search/issues' && !/label:/.test(r.query.q)).length, 3 * repos);
  assert.equal(doc.run.unverified, 0);
  assert.deepEqual(doc.unverified, []);
  assert.equal(dbl.requests.filter((r) => r.path === `/orgs/acme/hooks/${HOOK}/deliveries`).length, 1);

  // a second clean check: the kept pages answer 304, nothing is searched
  dbl.clearRequests();
  const again = await check();
  assert.equal(again.run.findings, 0);
  assert.equal(again.run.not_modified, keptPages());
  assert.equal(dbl.requests.filter((r) => r.status === 304).length, keptPages());
  assert.equal(searches(), 0);
});

test('one check names every gap; its repairs restore the double\'s state; a second check finds nothing', async () => {
  const expect = { freshness: [], reconciliation: new Set(), referential: [], deliveries: [], spool: [], teams: [] };
  const W = 'acme/widgets';
  const L = 'other/lib';

  // --- freshness: two of the 100 most recently updated PRs deleted, two outdated
  const topW = byUpdated(W).slice(0, 100);
  const gone = [topW[2], topW[9]];
  const mergedTop = topW.filter((p) => p.merged && !gone.includes(p));
  const stale = [mergedTop[0], topW.find((p) => !p.merged && !gone.includes(p))];
  await s.sql(`DELETE FROM pr_labels WHERE pr_id IN (${gone.map((p) => p.id).join(',')})`);
  await s.sql(`DELETE FROM pull_requests WHERE id IN (${gone.map((p) => p.id).join(',')})`);
  // a merge we never heard of (counts move too: freshness accounts for it)
  await s.sql(`UPDATE pull_requests SET merged = 0, merged_at = NULL, closed_at = NULL, state = 'open',
    updated_at = updated_at - INTERVAL 3 DAY WHERE id = ${stale[0].id}`);
  await s.sql(`UPDATE pull_requests SET title = 'an old title', updated_at = updated_at - INTERVAL 1 HOUR
    WHERE id = ${stale[1].id}`);
  for (const p of [...gone, ...stale]) expect.freshness.push(`${W}#${p.number}`);

  // --- reconciliation: old PRs of other/lib deleted (far below the freshness page) ...
  const topL = new Set(byUpdated(L).slice(0, 100).map((p) => p.id));
  const old = dbl.repos.get(L).pulls.filter((p) => !topL.has(p.id));
  const m0 = month(old.find((p) => p.merged).created);
  const lost = old.filter((p) => month(p.created) === m0).slice(0, 2);
  await s.sql(`DELETE FROM pr_labels WHERE pr_id IN (${lost.map((p) => p.id).join(',')})`);
  await s.sql(`DELETE FROM pull_requests WHERE id IN (${lost.map((p) => p.id).join(',')})`);
  // ... and a PR GitHub has that never reached us (an old month of acme/widgets),
  // while another PR changed on GitHub (its webhook stored): the page of
  // acme/widgets changed, so its counts are asked again
  const ghost = dbl.users.get(dbl.repos.get(W).pulls[0].userId);
  const added = dbl.addPull(W, { userId: ghost.id, created: Date.parse('2023-02-10T08:00:00Z'), title: 'Missed entirely' });
  const edited = topW.find((p) => !gone.includes(p) && !stale.includes(p));
  edited.updated = Math.floor(Date.now() / 1000) * 1000 - 60000;
  dbl.repos.get(W).sorted = null;
  await s.sql(`UPDATE pull_requests SET updated_at = '${new Date(edited.updated).toISOString().slice(0, 19).replace('T', ' ')}'
    WHERE id = ${edited.id}`);
  const diff = new Map();
  const bump = (k) => diff.set(k, (diff.get(k) || 0) + 1);
  for (const p of lost) {
    bump(`${L} ${month(p.created)}|created`);
    if (p.merged) bump(`${L} ${month(p.merged)}|merged`);
    else if (p.closed) bump(`${L} ${month(p.closed)}|rejected`);
  }
  bump(`${W} ${month(added.created)}|created`);
  for (const k of diff.keys()) expect.reconciliation.add(k);

  // --- referential: an author nobody knows, a member nobody knows, a team not synced for long
  const authored = new Map();
  for (const r of dbl.repos.values()) for (const p of r.pulls) authored.set(p.userId, [...(authored.get(p.userId) || []), [r.full, p]]);
  const members = new Set(dbl.teams.flatMap((t) => [...t.members]));
  const [authorId, prs] = [...authored.entries()].filter(([id]) => !members.has(id) && dbl.users.get(id).type === 'User')
    .sort((a, b) => a[1].length - b[1].length)[0];
  await s.sql(`DELETE FROM users WHERE id = ${authorId}`);
  for (const [full, p] of prs) if (p !== added) expect.referential.push(`${full}#${p.number}`);
  const t1 = dbl.team('team-1');
  const memberOnly = [...t1.members].find((id) => dbl.users.get(id).login === 'quiet-dev');
  await s.sql(`DELETE FROM users WHERE id = ${memberOnly}`);
  expect.referential.push(`team team-1 member ${memberOnly}`);
  const t3 = dbl.team('team-3');
  const dropped = [...t3.members][1];
  await s.sql(`DELETE FROM memberships WHERE team_id = ${t3.id} AND user_id = ${dropped}`);
  await s.sql(`UPDATE teams SET members_synced_at = NOW(6) - INTERVAL 30 DAY WHERE id = ${t3.id}`);
  // (the teams check compares the members: a team synced long ago is no finding of its own)
  expect.teams.push('team team-3 members');

  // --- deliveries: GitHub failed to deliver two events to us ...
  const failed = [deliveryId(), deliveryId()];
  for (const g of failed) addHookDelivery(dbl, HOOK, { guid: g, event: 'pull_request', action: 'closed', status_code: 502, delivered_at: Date.now() - 3600000 });
  // ... one failure was redelivered fine, one we stored anyway, one is too old to matter
  const healed = deliveryId();
  addHookDelivery(dbl, HOOK, { guid: healed, event: 'team', action: 'edited', status_code: 504, delivered_at: Date.now() - 7200000 });
  addHookDelivery(dbl, HOOK, { guid: healed, event: 'team', action: 'edited', status_code: 202, redelivery: true });
  const ours = await deliver(s, 'pull_request', prEvent(W, dbl.repos.get(W).pulls[5]), { secret: SECRET, hookId: HOOK });
  assert.equal(ours.status, 202, ours.text);
  addHookDelivery(dbl, HOOK, { guid: ours.id, event: 'pull_request', action: 'edited', status_code: 500 });
  addHookDelivery(dbl, HOOK, { guid: deliveryId(), event: 'pull_request', status_code: 502, delivered_at: Date.now() - 4 * DAY });
  for (const g of failed) expect.deliveries.push(`hook ${HOOK} delivery ${g}`);
  // ... and a delivery we received failed to apply (a database error, say)
  const f = await deliver(s, 'pull_request', prEvent(L, dbl.repos.get(L).pulls[7]), { secret: SECRET, hookId: HOOK });
  assert.equal(f.status, 202, f.text);
  await s.sql(`UPDATE deliveries SET outcome = 'failed', error = 'Lock wait timeout exceeded' WHERE id = ${sqlStr(f.id)}`);
  expect.deliveries.push(`delivery ${f.id}`);

  // --- spool: a delivery spooled ten minutes ago and never applied
  const spoolDir = /^spool_dir = (.*)$/m.exec(fs.readFileSync(s.config, 'utf8'))[1];
  fs.mkdirSync(spoolDir, { recursive: true });
  const sid = deliveryId();
  const name = `${String(Date.now() * 1000).padStart(20, '0')}-${String(process.pid).padStart(10, '0')}-00000001.delivery`;
  const file = path.join(spoolDir, name);
  const payload = prEvent(W, dbl.repos.get(W).pulls[11]);
  fs.writeFileSync(file, `${JSON.stringify({ delivery: sid, event: 'pull_request', hook_id: String(HOOK),
    received_at: new Date(Date.now() - 600000).toISOString().replace('T', ' ').replace('Z', ''),
    content_type: 'application/json' })}\n${JSON.stringify(payload)}`);
  const tenMinAgo = new Date(Date.now() - 600000);
  fs.utimesSync(file, tenMinAgo, tenMinAgo);
  expect.spool.push(`spool ${name}`);

  // --- the check without --repair: every gap, nothing queued
  const jobsBefore = (await s.sql('SELECT COUNT(*) FROM jobs'))[0][0];
  const look = await check();
  assert.deepEqual(subjects(look, 'freshness'), expect.freshness.sort());
  const rec = new Set(look.findings.filter((x) => x.check === 'reconciliation')
    .map((x) => `${x.subject}|${x.detail.split(':')[0]}`));
  assert.deepEqual([...rec].sort(), [...expect.reconciliation].sort());
  for (const x of look.findings.filter((y) => y.check === 'reconciliation')) {
    const [field] = x.detail.split(':');
    const k = `${x.subject}|${field}`;
    const m = /GitHub (\d+), stored (\d+)/.exec(x.detail);
    assert.equal(Number(m[1]) - Number(m[2]), diff.get(k), `difference of ${k}`);
  }
  assert.deepEqual(subjects(look, 'referential'), expect.referential.sort());
  assert.deepEqual(subjects(look, 'deliveries'), expect.deliveries.sort());
  assert.deepEqual(subjects(look, 'spool'), expect.spool.sort());
  assert.deepEqual(subjects(look, 'teams'), expect.teams.sort());
  assert.deepEqual(subjects(look, 'labels'), []);
  assert.equal(look.run.findings, look.findings.length);
  assert.ok(look.findings.every((x) => x.repair_job_id === null));
  assert.equal((await s.sql('SELECT COUNT(*) FROM jobs'))[0][0], jobsBefore, 'no job queued without --repair');
  // the table form names the same findings
  const table = await s.admin(['check']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^CHECK\s+SUBJECT\s+DETAIL\s+REPAIR JOB$/m);
  for (const x of look.findings) assert.ok(table.stdout.includes(x.subject), `table lists ${x.subject}`);
  assert.match(table.stdout, new RegExp(`${look.run.findings} findings`));

  // --- with --repair: the same findings, each with its job
  const fix = await check(['--repair']);
  assert.deepEqual(fix.findings.map((x) => [x.check, x.subject]).sort(), look.findings.map((x) => [x.check, x.subject]).sort());
  assert.ok(fix.findings.every((x) => Number.isInteger(x.repair_job_id)), 'every finding has a repair job');
  const jobIds = [...new Set(fix.findings.map((x) => x.repair_job_id))];
  const jobs = await s.sql(`SELECT id, kind, state FROM jobs WHERE id IN (${jobIds.join(',')}) ORDER BY id`);
  assert.equal(jobs.length, jobIds.length);
  assert.ok(jobs.every((j) => j[2] === 'queued'));
  // a second --repair run queues nothing new (dedupe keys)
  const twice = await check(['--repair']);
  assert.deepEqual([...new Set(twice.findings.map((x) => x.repair_job_id))].sort(), jobIds.sort());
  // /api/admin/integrity shows the latest check's findings
  const adm = await s.get('/api/admin/integrity', { Authorization: `Bearer ${ADMIN}` });
  assert.equal(adm.status, 200, adm.text);
  assert.equal(adm.json.run.id, twice.run.id);
  assert.deepEqual(adm.json.findings.map((x) => [x.check, x.subject, x.repair_job_id]),
    twice.findings.map((x) => [x.check, x.subject, x.repair_job_id]));

  // --- the repairs run
  dbl.clearRequests();
  await syncdOnce();
  const states = await s.sql(`SELECT kind, state, IFNULL(last_error, '') FROM jobs WHERE id IN (${jobIds.join(',')})`);
  assert.deepEqual(states.filter((j) => j[1] !== 'done'), [], 'every repair job done');
  await assertDbEqualsDouble();
  const attempts = dbl.requests.filter((r) => r.method === 'POST');
  const wantIds = failed.map((g) => dbl.hooks.get(HOOK).deliveries.find((d) => d.guid === g && !d.redelivery).id);
  assert.deepEqual(attempts.map((r) => r.path).sort(),
    wantIds.map((id) => `/orgs/acme/hooks/${HOOK}/deliveries/${id}/attempts`).sort());
  assert.deepEqual(dbl.redeliveries.map((r) => r.guid).sort(), failed.slice().sort());
  assert.deepEqual(await s.sql(`SELECT outcome FROM deliveries WHERE id = ${sqlStr(f.id)}`), [['processed']]);
  assert.deepEqual(await s.sql(`SELECT outcome FROM deliveries WHERE id = ${sqlStr(sid)}`), [['processed']]);
  assert.ok(!fs.existsSync(file), 'spool applied');

  // --- nothing left
  const clean = await check();
  assert.deepEqual(clean.findings, []);
  assert.equal(clean.run.status, 'ok');

  const h = await s.get('/api/health');
  assert.equal(h.status, 200);
  assert.equal(h.json.integrity.findings, 0);
  assert.match(h.json.integrity.last_run, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
});

test('lb-syncd runs the scheduled check with repairs; usage errors exit 2', async () => {
  // a PR row lost: the daemon's own check (due now) finds and repairs it
  const p = byUpdated('acme/widgets')[0];
  await s.sql(`DELETE FROM pr_labels WHERE pr_id = ${p.id}`);
  await s.sql(`DELETE FROM pull_requests WHERE id = ${p.id}`);
  await s.sql("UPDATE sync_state SET last_started_at = NOW(6) - INTERVAL 2 DAY WHERE name = 'schedule:check'");
  await syncdOnce();
  const run = await s.sql(`SELECT repair, findings, status FROM integrity_runs ORDER BY id DESC LIMIT 1`);
  assert.deepEqual(run, [['1', '1', 'ok']]);
  const found = await s.sql(`SELECT check_name, subject, repair_job_id FROM integrity_findings
    WHERE run_id = (SELECT MAX(id) FROM integrity_runs)`);
  assert.deepEqual(found.map((f) => f.slice(0, 2)), [['freshness', `acme/widgets#${p.number}`]]);
  // --once is one pass over the jobs claimable when it began: the check ran
  // in it, the repair it queued waits for the next run
  assert.deepEqual(await s.sql(`SELECT state FROM jobs WHERE id = ${found[0][2]}`), [['queued']]);
  await syncdOnce();
  assert.deepEqual(await s.sql(`SELECT state FROM jobs WHERE id = ${found[0][2]}`), [['done']]);
  await assertDbEqualsDouble();

  const bad = await s.admin(['check', '--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /usage: check/);
});

// While GitHub is unchanged (a repository's page of PRs by updated time
// answers 304 to the ETag at which its last complete check verified every
// count), the reconciliation believes those counts: rows lost on our side
// are found month by month without a search. A repository whose page
// changed has its totals asked again; a month that differs with no trace on
// our side (older than the PRs updated since the last check) costs the
// bisection of the months; a PR missed below the first page is met by the
// walk down to the PRs the last check compared.
test('reconciliation: rows lost here cost no search while GitHub is unchanged; a month with no trace is bisected', async () => {
  const W = 'acme/widgets';
  const L = 'other/lib';
  const idx = (ms) => { const d = new Date(ms); return d.getUTCFullYear() * 12 + d.getUTCMonth(); };
  const sqlTime = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
  // the searches of the reconciliation (the labels check's have label:)
  const searches = () => dbl.requests.filter((r) => r.path === '/search/issues' && !/label:/.test(r.query.q)).length;
  const allSearches = () => dbl.requests.filter((r) => r.path === '/search/issues').length;

  // a clean check: what it believes GitHub has is kept
  const clean = await check();
  assert.deepEqual(clean.findings, []);

  // --- open PRs of one old month of other/lib lost (below its freshness page)
  const topL = new Set(byUpdated(L).slice(0, 100).map((p) => p.id));
  const byMonth = new Map();
  for (const p of dbl.repos.get(L).pulls) {
    if (topL.has(p.id) || p.closed) continue;
    byMonth.set(month(p.created), [...(byMonth.get(month(p.created)) || []), p]);
  }
  const [m1, cands] = [...byMonth.entries()].sort((a, b) => b[1].length - a[1].length)[0];
  const lost = cands.slice(0, 2);
  await s.sql(`DELETE FROM pr_labels WHERE pr_id IN (${lost.map((p) => p.id).join(',')})`);
  await s.sql(`DELETE FROM pull_requests WHERE id IN (${lost.map((p) => p.id).join(',')})`);
  const lCreated = dbl.repos.get(L).pulls.filter((p) => month(p.created) === m1).length;
  dbl.clearRequests();
  const one = await check();
  assert.deepEqual(one.findings.map((f) => [f.check, f.subject, f.detail]),
    [['reconciliation', `${L} ${m1}`, `created: GitHub ${lCreated}, stored ${lCreated - lost.length}`]]);
  // GitHub unchanged: the kept pages answer 304, no search at all
  assert.equal(allSearches(), 0);
  assert.equal(one.run.not_modified, keptPages());
  assert.equal(one.run.requests, keptPages() + 1);

  // --- GitHub has a PR of an old month of acme/widgets we never had a
  // trace of; another PR of it was edited (its webhook stored)
  const below = byUpdated(W)[150];
  const author = dbl.repos.get(W).pulls[0].userId;
  const added = dbl.addPull(W, { userId: author, created: below.created, title: 'Never seen here' });
  const edited = byUpdated(W)[3];
  edited.updated = Math.floor(Date.now() / 1000) * 1000 - 120000;
  dbl.repos.get(W).sorted = null;
  await s.sql(`UPDATE pull_requests SET updated_at = '${sqlTime(edited.updated)}' WHERE id = ${edited.id}`);
  assert.ok(!byUpdated(W).slice(0, 100).includes(added), 'below the freshness page');
  const m2 = month(added.created);
  // the bisection of acme/widgets' months: from the oldest PR's month to now
  let a = Math.min(...dbl.repos.get(W).pulls.map((p) => idx(p.created)));
  let b = idx(Date.now());
  let splits = 0;
  for (const t = idx(added.created); a < b; splits++) {
    const mid = a + Math.floor((b - a) / 2);
    if (t <= mid) b = mid; else a = mid + 1;
  }
  dbl.clearRequests();
  const two = await check();
  const wCreated = dbl.repos.get(W).pulls.filter((p) => month(p.created) === m2).length;
  assert.deepEqual(two.findings.map((f) => [f.check, f.subject, f.detail]).sort(), [
    ['reconciliation', `${L} ${m1}`, `created: GitHub ${lCreated}, stored ${lCreated - lost.length}`],
    ['reconciliation', `${W} ${m2}`, `created: GitHub ${wCreated}, stored ${wCreated - 1}`],
  ].sort());
  // other/lib: believed (no search); acme/widgets: its three totals, its
  // labels, and the bisection (no month moved on our side)
  assert.equal(searches(), 3 + splits);
  assert.equal(allSearches(), 3 + labelSearches(W) + splits);
  assert.equal(two.run.not_modified, keptPages() - 1);
  assert.equal(two.run.requests, keptPages() + 1 + 3 + labelSearches(W) + splits);

  // --- a webhook missed, then more than a page of PRs updated (webhooks we
  // got): the PR is below the freshness page
  const t0 = Date.now();
  const missed = dbl.addPull(W, { userId: author, created: t0 + 1000, title: 'Missed, then buried' });
  const busy = byUpdated(W).filter((p) => p !== missed).slice(0, 100);
  busy.forEach((p, k) => { p.updated = t0 + 2000 + k * 1000; });
  dbl.repos.get(W).sorted = null;
  await s.sql(`UPDATE pull_requests SET updated_at = CASE id ${busy.map((p) =>
    `WHEN ${p.id} THEN '${sqlTime(p.updated)}'`).join(' ')} END
    WHERE id IN (${busy.map((p) => p.id).join(',')})`);
  assert.ok(!byUpdated(W).slice(0, 100).includes(missed), 'below the freshness page');
  dbl.clearRequests();
  const three = await check();
  // the walk goes on down to the PRs the last check compared: page 2 holds
  // the missed PR, and the one added earlier (it is older than the last
  // check's page, so it sits right below the PRs updated since)
  assert.ok(byUpdated(W).slice(100, 200).includes(missed) && byUpdated(W).slice(100, 200).includes(added));
  assert.deepEqual(three.findings.map((f) => [f.check, f.subject]).sort(), [
    ['freshness', `${W}#${added.number}`],
    ['freshness', `${W}#${missed.number}`],
    ['reconciliation', `${L} ${m1}`],
  ].sort());
  assert.equal(three.findings.find((f) => f.check === 'reconciliation').detail,
    `created: GitHub ${lCreated}, stored ${lCreated - lost.length}`);
  // freshness accounts for both: acme/widgets' totals agree; its page 1
  // changed (200, charged) and page 2 was read
  assert.equal(searches(), 3);
  assert.equal(three.run.not_modified, keptPages() - 1);
  assert.equal(three.run.requests, keptPages() + 1 + 3 + labelSearches(W) + 1);

  // --- repaired, nothing differs, and the next check asks nothing more
  await check(['--repair']);
  await syncdOnce();
  await assertDbEqualsDouble();
  dbl.clearRequests();
  const after = await check();
  assert.deepEqual(after.findings, []);
  assert.equal(allSearches(), 0);
});
