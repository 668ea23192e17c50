// Lost webhooks, as a new install sees them: a realistic stream of signed
// deliveries of which at least 15% of every action never arrived (a seed of
// its own per action). The check must report a finding for each class of
// divergence (a PR missing; its state, merge, closed month; the labels of
// merged PRs; teams created, deleted, renamed; memberships), and after
// `lb-admin check --repair` + `lb-syncd --once` (no schedule due: only the
// repairs act) every published statistic equals that of a second, fresh
// stack backfilled in full from the same GitHub double world; a second check
// then finds nothing and says it verified everything.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { deliverAll, examples } from './webhooks.mjs';
import { githubDouble } from './scaffold.mjs';

const TOKEN = 'ghp_integrityLOSS0123456789';
const SECRET = 'loss-secret';
const LOSS = 0.15;
const DAY = 86400000;

const dbl = await githubDouble({ token: TOKEN, org: 'acme' });
const stacks = [];
after(async () => { for (const s of stacks) await s.stop(); });

// mulberry32, as the double's generator
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const month = (ms) => new Date(ms).toISOString().slice(0, 7);

// A seed per class of delivery: which ones are lost is drawn independently.
const LOSS_SEEDS = {
  'pull_request.opened': 101, 'pull_request.closed': 102, 'pull_request.labeled': 103,
  'pull_request.unlabeled': 104, 'pull_request.reopened': 105, 'pull_request.edited': 106,
  'pull_request.synchronize': 107, 'team.created': 201, 'team.deleted': 202, 'team.edited': 203,
  'membership.added': 204, 'membership.removed': 205, 'organization.member_removed': 206,
};

// Marks ceil(15%) of each class lost (a seeded shuffle); returns the kept ones.
function loseSome(list) {
  const groups = new Map();
  for (const d of list) {
    const k = `${d.event}.${d.action}`;
    groups.set(k, [...(groups.get(k) || []), d]);
  }
  for (const [k, g] of groups) {
    assert.ok(LOSS_SEEDS[k], `a loss seed for ${k}`);
    const rand = rng(LOSS_SEEDS[k]);
    const order = g.map((d) => [rand(), d]).sort((a, b) => a[0] - b[0]).map((x) => x[1]);
    order.slice(0, Math.ceil(LOSS * g.length)).forEach((d) => { d.lost = true; });
  }
  const lost = list.filter((d) => d.lost);
  for (const [k, g] of groups) assert.ok(g.filter((d) => d.lost).length / g.length >= LOSS, `${k}: at least 15% lost`);
  return { kept: list.filter((d) => !d.lost), lost, groups };
}

async function newStack() {
  const s = await startStack({ sets: {
    'github.api_url': dbl.url, 'github.token': TOKEN, 'github.partner_org': 'acme',
    'github.repositories': [...dbl.repos.keys()].join(','), 'github.webhook_secret': SECRET,
    'sync.teams_every': '24h', 'sync.prs_every': '24h', 'sync.integrity_every': '24h',
  } });
  stacks.push(s);
  return s;
}

// No schedule is due: lb-syncd --once runs only the jobs queued.
async function schedulesNotDue(s) {
  for (const n of ['schedule:teams', 'schedule:prs', 'schedule:check']) {
    await s.sql(`INSERT INTO sync_state (name, last_started_at) VALUES ('${n}', NOW(6))
      ON DUPLICATE KEY UPDATE last_started_at = NOW(6)`);
  }
}

// lb-syncd --once until no job is left to run (bounded).
async function drain(s) {
  for (let i = 0; i < 10; i++) {
    const r = await s.prog('lb-syncd', ['--once']);
    assert.equal(r.code, 0, `lb-syncd --once: ${r.stderr}`);
    const left = await s.sql("SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')");
    if (left[0][0] === '0') {
      const failed = await s.sql("SELECT kind, args, last_error FROM jobs WHERE state = 'failed'");
      assert.deepEqual(failed, [], 'no job failed');
      return;
    }
  }
  assert.fail('jobs still queued after 10 runs of lb-syncd --once');
}

async function check(s, args = []) {
  const r = await s.admin(['check', '--json', ...args]);
  assert.equal(r.code, 0, `lb-admin check: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

// Every published statistic: the leaderboard, each team, the contributors
// and the monthly statistics, for all time and some periods.
async function published(s, slugs) {
  const paths = [];
  const periods = ['period=all', 'period=year&value=2023', 'period=year&value=2024', 'period=quarter&value=2023-Q3',
    'period=month&value=2024-02', 'period=range&from=2023-05-10&to=2023-11-20'];
  for (const p of periods) paths.push(`/api/leaderboard?${p}&limit=1000`, `/api/contributors?${p}&limit=1000`);
  for (const y of [2023, 2024]) paths.push(`/api/stats/monthly?year=${y}`);
  for (const slug of slugs) {
    paths.push(`/api/teams/${slug}?period=all`, `/api/teams/${slug}?period=year&value=2024`,
      `/api/contributors?period=all&team=${slug}&limit=1000`);
    for (const y of [2023, 2024]) paths.push(`/api/stats/monthly?year=${y}&team=${slug}`);
  }
  const out = {};
  for (const p of paths) {
    const r = await s.get(p);
    assert.ok(r.status === 200 || r.status === 404, `${p}: ${r.status} ${r.text}`);
    out[p] = r.status === 200 ? r.json : 404;
  }
  return out;
}

// How many leaf values of a differ from b (for the record: the loss matters).
function differing(a, b) {
  let n = 0, all = 0;
  const walk = (x, y) => {
    if (x && typeof x === 'object') {
      const keys = new Set([...Object.keys(x), ...Object.keys(y && typeof y === 'object' ? y : {})]);
      for (const k of keys) walk(x[k], y && typeof y === 'object' ? y[k] : undefined);
    } else {
      all++;
      if (x !== y) n++;
    }
  };
  walk(a, b);
  return { n, all };
}

const payload = (obj) => JSON.stringify(obj);

// ------------------------------------------------------------ PR histories

// A world of teams and two repositories whose PRs each have a history:
// opened, labeled/unlabeled/edited/synchronize, closed (merged or not),
// reopened and closed again, labels changed after the merge. Each event is
// a delivery carrying the PR as it was then.
function prWorld(seed) {
  dbl.reset('acme');
  const rand = rng(seed);
  const people = [];
  for (let t = 1; t <= 3; t++) {
    const team = dbl.addTeam(`team-${t}`, `Partner ${t}`);
    for (let m = 1; m <= 4; m++) {
      const u = dbl.addUser(`dev-${t}-${m}`);
      team.members.add(u.id);
      people.push(u);
    }
  }
  dbl.teams[1].members.add(people[0].id);
  for (let i = 1; i <= 4; i++) people.push(dbl.addUser(`outsider-${i}`));
  people.push(dbl.addUser('helper-bot[bot]', 'Bot'));
  const list = [];
  const start = Date.parse('2023-01-01T00:00:00Z');
  const span = Date.parse('2024-05-01T00:00:00Z') - start;
  for (const [full, n] of [['acme/widgets', 240], ['other/lib', 200]]) {
    const r = dbl.addRepo(full);
    for (let i = 0; i < n; i++) {
      let t = start + Math.floor(rand() * span / 1000) * 1000;
      const p = dbl.addPull(full, { userId: people[Math.floor(rand() * people.length)].id, created: t,
        labels: rand() < 0.3 ? [r.labels[Math.floor(rand() * r.labels.length)].id] : [] });
      const ev = (action, extra = {}) => {
        p.updated = t;
        r.sorted = null;
        list.push({ event: 'pull_request', action, at: t, body: payload({ action, number: p.number,
          pull_request: dbl.pullObj(r, p, true), repository: dbl.repoObj(r), sender: dbl.userObj(p.userId), ...extra }) });
      };
      const later = () => { t += (60 + Math.floor(rand() * 6 * 86400)) * 1000; return t; };
      const relabel = () => {
        const free = r.labels.filter((l) => !p.labels.includes(l.id));
        if (p.labels.length && (rand() < 0.35 || !free.length)) {
          const id = p.labels[Math.floor(rand() * p.labels.length)];
          p.labels = p.labels.filter((x) => x !== id);
          later();
          ev('unlabeled', { label: dbl.labelObj(r, id) });
        } else {
          const id = free[Math.floor(rand() * free.length)].id;
          p.labels = [...p.labels, id];
          later();
          ev('labeled', { label: dbl.labelObj(r, id) });
        }
      };
      ev('opened');
      for (let k = Math.floor(rand() * 3); k > 0; k--) {
        const a = rand();
        if (a < 0.6) relabel();
        else if (a < 0.8) { later(); ev('synchronize'); }
        else { p.title = `${p.title} (v${k})`; later(); ev('edited', { changes: { title: { from: 'before' } } }); }
      }
      const fate = rand();
      if (fate < 0.55) {
        p.merged = p.closed = later();
        ev('closed');
        if (rand() < 0.3) relabel();	// labels changed after the merge
      } else if (fate < 0.85) {
        p.closed = later();
        ev('closed');
        if (rand() < 0.35) {
          p.closed = null;
          later();
          ev('reopened');
          const again = rand();
          if (again < 0.4) { p.closed = later(); ev('closed'); }
          else if (again < 0.7) { p.merged = p.closed = later(); ev('closed'); }
        }
      }
    }
  }
  return list;
}

// What the database holds once the kept deliveries are stored: per PR the
// snapshot of its newest delivery (a stale one never overwrites).
function storedModel(kept) {
  const m = new Map();
  for (const d of kept) {
    const o = JSON.parse(d.body).pull_request;
    const k = `${o.base.repo.full_name}#${o.number}`;
    if (!m.has(k) || m.get(k).updated_at < o.updated_at) m.set(k, o);
  }
  return m;
}

// GitHub's PR as the API shows it, in the same shape.
function ghModel() {
  const m = new Map();
  for (const r of dbl.repos.values()) for (const p of r.pulls) m.set(`${r.full}#${p.number}`, dbl.pullObj(r, p, true));
  return m;
}

// Month buckets per (repo, field): created, merged, rejected; labels per merged month.
function counts(prs) {
  const c = new Map();
  const bump = (k) => c.set(k, (c.get(k) || 0) + 1);
  for (const o of prs) {
    const repo = o.base.repo.full_name;
    bump(`${repo} ${o.created_at.slice(0, 7)}|created`);
    if (o.merged_at) {
      bump(`${repo} ${o.merged_at.slice(0, 7)}|merged`);
      for (const l of o.labels) bump(`${repo} ${o.merged_at.slice(0, 7)}|label ${l.name}`);
    } else if (o.state === 'closed') bump(`${repo} ${o.closed_at.slice(0, 7)}|rejected`);
  }
  return c;
}

test('PR deliveries lost across every action: each class found, repaired to a full backfill\'s statistics', async () => {
  const stream = prWorld(1601);
  const { kept, lost } = loseSome(stream);
  const s = await newStack();
  assert.equal((await s.admin(['sync', 'teams', '--now'])).code, 0);
  await schedulesNotDue(s);
  const res = await deliverAll(s, kept.map((d) => ({ event: d.event, payload: null, body: d.body })), { secret: SECRET, concurrency: 4 });
  assert.ok(res.every((r) => r.status === 202), 'every delivery accepted');

  // --- the divergences, from the world and what was delivered
  const gh = ghModel();
  const st = storedModel(kept);
  const names = (x) => x.labels.map((l) => l.name).sort().join(',');
  const expect = { missing: [], state: [], merged: [], labels: [] };
  const outdated = [];
  for (const [k, g] of gh) {
    const o = st.get(k);
    if (!o) expect.missing.push(k);
    else {
      if (o.state !== g.state && !g.merged_at && !o.merged_at) expect.state.push(k);
      if (!!o.merged_at !== !!g.merged_at) expect.merged.push(k);
      if (names(o) !== names(g)) expect.labels.push(k);
    }
    if (!o || o.updated_at < g.updated_at) outdated.push(k);
  }
  for (const [c, v] of Object.entries(expect)) assert.ok(v.length > 0, `the lost deliveries leave PRs with a divergence of class ${c}`);
  // merged PRs below the 100 changed last whose labels are wrong: what the issue saw stay wrong
  const top = new Set();
  for (const r of dbl.repos.values()) {
    r.pulls.slice().sort((a, b) => (b.updated - a.updated) || (b.number - a.number)).slice(0, 100)
      .forEach((p) => top.add(`${r.full}#${p.number}`));
  }
  assert.ok(expect.labels.some((k) => !top.has(k) && gh.get(k).merged_at), 'labels of an old merged PR are wrong');
  assert.ok(expect.state.some((k) => !top.has(k)), 'an old PR closed unmerged is open here');

  // --- the check names each divergent PR and what differs: the walk down
  // the PRs by updated time covers every PR changed since the install
  const look = await check(s);
  assert.equal(look.run.status, 'ok', look.run.error);
  assert.deepEqual(look.unverified, [], 'everything verified');
  const fresh = new Map(look.findings.filter((f) => f.check === 'freshness').map((f) => [f.subject, f.detail]));
  assert.deepEqual([...fresh.keys()].sort(), outdated.sort(), 'every PR GitHub changed after the snapshot we have');
  for (const k of expect.missing) assert.match(fresh.get(k), /^missing/, k);
  for (const k of expect.state) assert.match(fresh.get(k), /; state: GitHub (open|closed), stored (open|closed)/, k);
  for (const k of expect.merged) assert.match(fresh.get(k), /; merged: GitHub (yes|no), stored (yes|no)/, k);
  for (const k of expect.labels) {
    const g = gh.get(k).labels.map((l) => l.name);
    const m = /; labels: GitHub \[(.*?)\], stored \[(.*?)\]/.exec(fresh.get(k));
    assert.ok(m, `${k}: ${fresh.get(k)}`);
    assert.deepEqual(m[1].split(',').filter(Boolean).sort(), g.sort(), k);
  }
  // freshness accounts for them: the counts agree once its repairs are done
  assert.deepEqual(look.findings.filter((f) => f.check !== 'freshness'), [], 'no month differs beyond what freshness found');

  // --- the reference: a fresh stack backfilled in full from the same world
  const ref = await newStack();
  assert.equal((await ref.admin(['backfill', '--now'])).code, 0);
  await drain(ref);
  const slugs = dbl.teams.map((t) => t.slug);
  const expected = await published(ref, slugs);
  const before = differing(await published(s, slugs), expected);
  assert.ok(before.n > 0, 'before the repair some published values are wrong');
  console.log(`# lost ${lost.length} of ${stream.length} PR deliveries; before the repair ${before.n} of ${before.all} published values wrong`);

  // --- repair: the queued jobs only
  const fix = await check(s, ['--repair']);
  assert.ok(fix.findings.every((f) => Number.isInteger(f.repair_job_id)), 'every finding has a repair');
  await drain(s);
  assert.deepEqual(await published(s, slugs), expected, 'every statistic equals the full backfill\'s');

  const clean = await check(s);
  assert.deepEqual(clean.findings, []);
  assert.deepEqual(clean.unverified, []);
  assert.equal(clean.run.status, 'ok');

  // --- rows changed on our side, on PRs GitHub did not change (the walk
  // has nothing to read): the counts find each class, by month
  const W = 'acme/widgets';
  const pulls = dbl.repos.get(W).pulls;
  const pick = (f) => pulls.find(f);
  const openPr = pick((p) => !p.closed && !p.labels.length);
  const mergedPr = pick((p) => p.merged && !p.labels.length && month(p.merged) !== month(openPr.created));
  const rejectedPr = pick((p) => p.closed && !p.merged);
  const labelledPr = pick((p) => p.merged && p.labels.length && p !== mergedPr);
  const label = dbl.repos.get(W).labels.find((l) => l.id === labelledPr.labels[0]);
  await s.sql(`DELETE FROM pull_requests WHERE id = ${openPr.id}`);
  await s.sql(`UPDATE pull_requests SET merged = 0, merged_at = NULL, closed_at = NULL, state = 'open' WHERE id = ${mergedPr.id}`);
  await s.sql(`UPDATE pull_requests SET closed_at = NULL, state = 'open' WHERE id = ${rejectedPr.id}`);
  await s.sql(`DELETE FROM pr_labels WHERE pr_id = ${labelledPr.id} AND label_id = ${label.id}`);
  const cnt = (f) => pulls.filter(f).length;
  const rows = await check(s);
  assert.deepEqual(rows.findings.map((f) => [f.check, f.subject, f.detail]).sort(), [
    ['reconciliation', `${W} ${month(openPr.created)}`, `created: GitHub ${cnt((p) => month(p.created) === month(openPr.created))}, stored ${cnt((p) => month(p.created) === month(openPr.created)) - 1}`],
    ['reconciliation', `${W} ${month(mergedPr.merged)}`, `merged: GitHub ${cnt((p) => p.merged && month(p.merged) === month(mergedPr.merged))}, stored ${cnt((p) => p.merged && month(p.merged) === month(mergedPr.merged)) - 1}`],
    ['reconciliation', `${W} ${month(rejectedPr.closed)}`, `rejected: GitHub ${cnt((p) => p.closed && !p.merged && month(p.closed) === month(rejectedPr.closed))}, stored ${cnt((p) => p.closed && !p.merged && month(p.closed) === month(rejectedPr.closed)) - 1}`],
    ['labels', `${W} ${month(labelledPr.merged)}`, `label ${label.name} on merged PRs: GitHub ${cnt((p) => p.merged && p.labels.includes(label.id) && month(p.merged) === month(labelledPr.merged))}, stored ${cnt((p) => p.merged && p.labels.includes(label.id) && month(p.merged) === month(labelledPr.merged)) - 1}`],
  ].sort());
  await check(s, ['--repair']);
  await drain(s);
  assert.deepEqual(await published(s, slugs), expected, 'every statistic equals the full backfill\'s again');
  assert.deepEqual((await check(s)).findings, []);
});

// ---------------------------------------------------- teams and memberships

// A world of teams (members with PRs, and quiet members without), two
// repositories; then team and membership events: teams created (with
// members), deleted, renamed; members added and removed; people removed from
// the org. Only members without PRs join or leave: for them a membership's
// start or end time changes no statistic, so a full backfill (which knows
// only today's members) is the truth to compare with.
function teamWorld(seed) {
  dbl.generate({ seed, org: 'acme', teams: 5, members: 3, outsiders: 3, repos: { 'acme/widgets': 90, 'other/lib': 70 } });
  const rand = rng(seed + 1);
  for (const t of dbl.teams) for (let q = 1; q <= 3; q++) t.members.add(dbl.addUser(`quiet-${t.slug}-${q}`).id);
  return rand;
}

function teamEvents(rand) {
  const list = [];
  const org = dbl.orgObjFull();
  const sender = dbl.userObj(dbl.teams[0].members.values().next().value);
  const ex = (event, action) => structuredClone(examples(event, action)[0]);
  const push = (event, action, body) => list.push({ event, action, body: payload(body) });
  const quiet = (t) => [...t.members].filter((id) => dbl.users.get(id).login.startsWith('quiet-'));
  const membership = (action, t, uid) => {
    const b = ex('membership', action);
    Object.assign(b, { action, scope: 'team', member: dbl.userObj(uid), sender, team: dbl.teamObj(t), organization: org });
    push('membership', action, b);
  };
  // teams created, each with newcomers
  for (let k = 6; k <= 9; k++) {
    const t = dbl.addTeam(`team-${k}`, `Partner ${k}`);
    const b = ex('team', 'created');
    push('team', 'created', Object.assign(b, { action: 'created', team: dbl.teamObj(t), organization: org, sender }));
    for (let m = 1; m <= 2; m++) {
      const u = dbl.addUser(`newcomer-${k}-${m}`);
      t.members.add(u.id);
      membership('added', t, u.id);
    }
  }
  // newcomers join old teams; quiet members leave
  for (const t of dbl.teams.slice(0, 3)) {
    for (let m = 1; m <= 3; m++) {
      const u = dbl.addUser(`joiner-${t.slug}-${m}`);
      t.members.add(u.id);
      membership('added', t, u.id);
    }
    for (const uid of quiet(t).slice(0, 2)) {
      t.members.delete(uid);
      membership('removed', t, uid);
    }
  }
  // people removed from the org: out of every team
  for (const t of dbl.teams.slice(3, 5)) {
    const uid = quiet(t)[0];
    for (const x of dbl.teams) x.members.delete(uid);
    // (the examples have no member_removed: it has member_added's shape)
    const b = ex('organization', 'member_added');
    Object.assign(b, { action: 'member_removed', organization: org, sender,
      membership: { ...b.membership, user: dbl.userObj(uid), state: 'active', role: 'member' } });
    push('organization', 'member_removed', b);
  }
  // teams renamed
  for (const t of dbl.teams.slice(1, 5)) {
    const from = { name: t.name, slug: t.slug };
    dbl.renameTeam(t.slug, `${t.slug}-renamed`, `${t.name} Renamed`);
    const b = ex('team', 'edited');
    push('team', 'edited', Object.assign(b, { action: 'edited', team: dbl.teamObj(t), organization: org, sender,
      changes: { name: { from: from.name } } }));
  }
  // teams deleted
  for (const t of [dbl.teams[4], dbl.teams[7]]) {
    const obj = dbl.teamObj(t);
    dbl.deleteTeam(t.slug);
    const b = ex('team', 'deleted');
    push('team', 'deleted', Object.assign(b, { action: 'deleted', team: obj, organization: org, sender }));
  }
  void rand;
  return list;
}

test('team and membership deliveries lost: teams and members found, repaired to a full backfill\'s statistics', async () => {
  const rand = teamWorld(1602);
  const s = await newStack();
  assert.equal((await s.admin(['backfill', '--now'])).code, 0);
  await drain(s);
  await schedulesNotDue(s);
  const oldSlugs = dbl.teams.map((t) => t.slug);
  const stream = teamEvents(rand);
  const { kept, lost } = loseSome(stream);
  const res = await deliverAll(s, kept.map((d) => ({ event: d.event, payload: null, body: d.body })), { secret: SECRET });
  assert.ok(res.every((r) => r.status === 202), 'every delivery accepted');

  // --- what differs now: the database against GitHub
  const liveTeams = await s.sql(`SELECT id, slug, name FROM teams WHERE deleted_at IS NULL ORDER BY id`);
  const open = await s.sql('SELECT team_id, user_id FROM memberships WHERE ended_at IS NULL');
  const teamDiff = new Set();
  const memberDiff = new Set();
  for (const t of dbl.teams) {
    const row = liveTeams.find((x) => x[0] === String(t.id));
    if (!row || row[1] !== t.slug || row[2] !== t.name) { teamDiff.add(`team ${t.slug}`); continue; }
    const ours = open.filter((m) => m[0] === String(t.id)).map((m) => Number(m[1])).sort((a, b) => a - b);
    if (JSON.stringify(ours) !== JSON.stringify([...t.members].sort((a, b) => a - b))) memberDiff.add(`team ${t.slug} members`);
  }
  for (const row of liveTeams) if (!dbl.teams.some((t) => String(t.id) === row[0])) teamDiff.add(`team ${row[1]}`);
  assert.ok(teamDiff.size > 0 && memberDiff.size > 0, 'the lost deliveries leave teams and memberships that differ');

  const look = await check(s);
  assert.equal(look.run.status, 'ok', look.run.error);
  assert.deepEqual(look.unverified, []);
  assert.deepEqual(look.findings.filter((f) => f.check === 'teams').map((f) => f.subject).sort(),
    [...teamDiff, ...memberDiff].sort());
  assert.deepEqual(look.findings.filter((f) => f.check !== 'teams'), [], 'nothing else differs');

  const ref = await newStack();
  assert.equal((await ref.admin(['backfill', '--now'])).code, 0);
  await drain(ref);
  const slugs = [...new Set([...oldSlugs, ...dbl.teams.map((t) => t.slug)])];
  const expected = await published(ref, slugs);
  const before = differing(await published(s, slugs), expected);
  assert.ok(before.n > 0, 'before the repair some published values are wrong');
  console.log(`# lost ${lost.length} of ${stream.length} team/membership deliveries; before the repair ${before.n} of ${before.all} published values wrong`);

  const fix = await check(s, ['--repair']);
  assert.ok(fix.findings.length > 0 && fix.findings.every((f) => Number.isInteger(f.repair_job_id)));
  await drain(s);
  assert.deepEqual(await published(s, slugs), expected, 'every statistic equals the full backfill\'s');
  const clean = await check(s);
  assert.deepEqual(clean.findings, []);
  assert.deepEqual(clean.unverified, []);
});

test('lb-admin check says what it could not verify instead of counting it clean', async () => {
  // GitHub not configured: nothing of GitHub's is verified, and it says so
  const s = await startStack({ sets: { 'github.partner_org': 'acme', 'github.repositories': 'acme/widgets',
    'api.admin_token': 'adm1n-token' } });
  stacks.push(s);
  const doc = await check(s);
  assert.equal(doc.run.findings, 0);
  assert.deepEqual(doc.unverified.map((u) => u.check).sort(), ['freshness', 'labels', 'reconciliation', 'teams']);
  assert.equal(doc.run.unverified, doc.unverified.length);
  const table = await s.admin(['check']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^not verified: teams teams: teams and memberships not compared with GitHub: /m);
  assert.match(table.stdout, /0 findings \(.*\), 4 not verified/);
  // and so does /api/admin/integrity, next to the (no) findings
  const adm = await s.get('/api/admin/integrity', { Authorization: 'Bearer adm1n-token' });
  assert.equal(adm.status, 200, adm.text);
  assert.deepEqual(adm.json.findings, []);
  assert.equal(adm.json.run.unverified, 4);
  assert.deepEqual(adm.json.unverified.map((u) => [u.check, u.subject]).sort(),
    doc.unverified.map((u) => [u.check, u.subject]).sort());
  void DAY;
});
