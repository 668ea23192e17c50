// Webhooks (issue 3): every example payload of the events that matter,
// signed, as JSON and form-encoded; a PR lifecycle in any order and
// repeated; signature cases; replay. One stack for the whole file.
// (Bad input: webhooks-input.test.mjs; spool: webhooks-spool.test.mjs.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { allExamples, deliver, deliverAll, makePR, sign, examples } from './webhooks.mjs';

const SECRET = 'first secret';
const SECOND = 'second-secret';
const PARTNER = 'Octocoders';
const TRACKED = 'Codertocat/Hello-World';
let s;

before(async () => {
  s = await startStack({
    sets: {
      'github.webhook_secret': `${SECRET}, ${SECOND}`,
      'github.partner_org': PARTNER,
      'github.repositories': `${TRACKED}, acme/tracked-repo`,
      // deliveries queue their PRs (asserted below), even on an idle worker
      'hook.roll_when_idle_ms': '0',
    },
    workers: 3,
  });
});
after(() => s && s.stop());

// GitHub's "2019-05-15T15:20:33Z" as MariaDB prints a DATETIME.
const dt = (iso) => (iso == null ? 'NULL' : iso.replace('T', ' ').replace(/(\.\d+)?Z$/, ''));
const q = (v) => `'${String(v).replace(/'/g, "''")}'`;

async function one(sql) {
  const rows = await s.sql(sql);
  assert.equal(rows.length, 1, `expected one row from: ${sql}\ngot ${JSON.stringify(rows)}`);
  return rows[0];
}

// The stored rows of PRs (id -> row), in the shape expected() computes.
async function prRows(ids) {
  const rows = await s.sql(`SELECT p.id, p.number, p.state, p.draft, p.merged, p.created_at, p.updated_at,
      p.closed_at, p.merged_at, p.title, IFNULL(p.additions, 'NULL'), IFNULL(p.comments, 'NULL'),
      u.login, u.type, r.full_name, r.tracked,
      IFNULL((SELECT GROUP_CONCAT(l.name ORDER BY l.name SEPARATOR ',') FROM pr_labels pl
              JOIN labels l ON l.id = pl.label_id WHERE pl.pr_id = p.id), '')
    FROM pull_requests p JOIN users u ON u.id = p.author_id JOIN repositories r ON r.id = p.repo_id
    WHERE p.id IN (${ids.map(Number).join(',')})`);
  return new Map(rows.map((r) => [Number(r[0]), r.slice(1)]));
}
const prRow = async (id) => (await prRows([id])).get(Number(id));

function expected(pr) {
  const tracked = [TRACKED, 'acme/tracked-repo'].some((t) => t.toLowerCase() === pr.base.repo.full_name.toLowerCase());
  return [String(pr.number), pr.state, pr.draft ? '1' : '0',
    (pr.merged ?? pr.merged_at !== null) ? '1' : '0', dt(pr.created_at), dt(pr.updated_at),
    dt(pr.closed_at), dt(pr.merged_at), pr.title,
    pr.additions === undefined ? 'NULL' : String(pr.additions),
    pr.comments === undefined ? 'NULL' : String(pr.comments),
    pr.user.login, pr.user.type, pr.base.repo.full_name, tracked ? '1' : '0',
    pr.labels.map((l) => l.name).sort().join(',')];
}

async function delivery(id) {
  return s.sql(`SELECT event, IFNULL(action, ''), outcome, IFNULL(content_type, ''), body
    FROM deliveries WHERE id = ${q(id)}`);
}

test('every pull_request example, JSON and form-encoded: 202 processed and the snapshot row', async () => {
  const list = [];
  for (const form of [false, true]) {
    for (const payload of examples('pull_request')) {
      // each example becomes its own PR so that each row can be checked
      const n = list.length + 1;
      payload.pull_request.id = 900000 + n;
      payload.pull_request.number = 9000 + n;
      list.push({ event: 'pull_request', payload, form, hookId: 42 });
    }
  }
  const res = await deliverAll(s, list, { secret: SECRET, concurrency: 3 });
  res.forEach((r, i) => {
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json, { delivery: r.id, status: 'processed' }, list[i].payload.action);
  });
  const stored = await prRows(list.map((d) => d.payload.pull_request.id));
  for (const { payload, form } of list) {
    assert.deepEqual(stored.get(payload.pull_request.id), expected(payload.pull_request),
      `${payload.action} (form: ${form})`);
  }
  const rows = new Map((await s.sql(`SELECT id, event, action, outcome, content_type, hook_id, body
    FROM deliveries WHERE hook_id = 42`)).map((r) => [r[0], r.slice(1)]));
  assert.equal(rows.size, list.length);
  res.forEach((r, i) => {
    const { payload, form } = list[i];
    const d = rows.get(r.id);
    assert.deepEqual(d.slice(0, 5), ['pull_request', payload.action, 'processed',
      form ? 'application/x-www-form-urlencoded' : 'application/json', '42']);
    assert.deepEqual(JSON.parse(d[5]), payload, 'the stored body is the payload');
  });
});

test('team, membership, organization, repository and ping examples: status and rows', async () => {
  const events = ['team', 'membership', 'organization', 'repository', 'ping'];
  const matter = {
    team: ['created', 'edited', 'deleted'], membership: ['added', 'removed'],
    organization: ['member_added', 'member_removed'], repository: ['renamed', 'transferred'],
  };
  const sent = [];
  for (const form of [false, true]) {
    for (const { event, action, payload } of allExamples(events)) {
      const want = event === 'ping' || matter[event].includes(action) ? 'processed' : 'ignored';
      const r = await deliver(s, event, payload, { secret: SECRET, form });
      const what = `${event} ${action} (form: ${form})`;
      assert.equal(r.status, 202, `${what}: ${r.text}`);
      assert.equal(r.json.status, want, what);
      sent.push([r.id, event, action || '', want]);
      // the effects are checked after each delivery of the JSON pass (the
      // form pass sends the same payloads again: same effects)
      if (form) continue;

      if (event === 'team' && want === 'processed') {
        const t = payload.team;
        const [slug, name, org, deleted] = await one(`SELECT slug, name, org_id, deleted_at IS NOT NULL
          FROM teams WHERE id = ${t.id}`);
        assert.deepEqual([slug, name, org], [t.slug, t.name, String(payload.organization.id)], what);
        if (action === 'deleted') assert.equal(deleted, '1', what);
      }
      if (event === 'membership') {
        const [open] = await one(`SELECT COUNT(*) FROM memberships WHERE team_id = ${payload.team.id}
          AND user_id = ${payload.member.id} AND ended_at IS NULL`);
        assert.equal(open, action === 'added' ? '1' : '0', what);
        const [login] = await one(`SELECT login FROM users WHERE id = ${payload.member.id}`);
        assert.equal(login, payload.member.login);
      }
      if (event === 'organization' && want === 'processed') {
        const u = payload.membership.user;
        assert.deepEqual(await one(`SELECT login, type FROM users WHERE id = ${u.id}`), [u.login, u.type]);
      }
      if (event === 'repository' && want === 'processed') {
        const rp = payload.repository;
        const tracked = rp.full_name.toLowerCase() === TRACKED.toLowerCase() ? '1' : '0';
        const partner = rp.owner.login.toLowerCase() === PARTNER.toLowerCase() ? '1' : '0';
        assert.deepEqual(await one(`SELECT full_name, owner_login, name, tracked, partner_owned
          FROM repositories WHERE id = ${rp.id}`), [rp.full_name, rp.owner.login, rp.name, tracked, partner], what);
      }
      if (event === 'ping') {
        const target = payload.organization ? payload.organization.login : payload.repository.full_name;
        assert.deepEqual(await one(`SELECT target_type, target, events, last_ping_at IS NOT NULL
          FROM webhooks WHERE hook_id = ${payload.hook_id}`),
          [payload.hook.type.toLowerCase(), target, payload.hook.events.join(','), '1'], what);
      }
    }
  }
  const rows = await s.sql(`SELECT id, event, IFNULL(action, ''), outcome FROM deliveries
    WHERE id IN (${sent.map((x) => q(x[0])).join(',')}) ORDER BY received_at`);
  assert.deepEqual(rows, sent, 'every delivery stored once, with its outcome');
});

test('membership intervals: added opens at arrival, removed closes it, organization member_removed ends all', async () => {
  const added = examples('membership', 'added')[0];
  const removed = examples('membership', 'removed')[0];
  const user = { ...added.member, id: 7700001, login: 'interval-user' };
  const teams = [7710001, 7710002].map((id, i) => ({ ...added.team, id, slug: `t${i}`, name: `T${i}` }));
  for (const team of teams) {
    const r = await deliver(s, 'membership', { ...added, member: user, team }, { secret: SECRET });
    assert.equal(r.json.status, 'processed');
  }
  const rows = await s.sql(`SELECT team_id, started_at IS NOT NULL, ended_at IS NULL, source FROM memberships
    WHERE user_id = ${user.id} ORDER BY team_id`);
  assert.deepEqual(rows, teams.map((t) => [String(t.id), '1', '1', 'webhook']));
  // the interval starts when the delivery arrived: compare with the row
  const [[gap]] = await s.sql(`SELECT COUNT(*) FROM memberships m JOIN deliveries d
    ON d.event = 'membership' AND d.received_at = m.started_at WHERE m.user_id = ${user.id}`);
  assert.equal(gap, '2');

  // removed from the first team: that interval ends, the other stays open
  let r = await deliver(s, 'membership', { ...removed, member: user, team: teams[0] }, { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  assert.deepEqual(await s.sql(`SELECT team_id, ended_at IS NULL FROM memberships WHERE user_id = ${user.id}
    ORDER BY team_id`), [[String(teams[0].id), '0'], [String(teams[1].id), '1']]);
  // the same removal again (a new delivery id) changes nothing
  const before = await s.sql(`SELECT * FROM memberships WHERE user_id = ${user.id} ORDER BY id`);
  r = await deliver(s, 'membership', { ...removed, member: user, team: teams[0] }, { secret: SECRET });
  assert.deepEqual(await s.sql(`SELECT * FROM memberships WHERE user_id = ${user.id} ORDER BY id`), before);

  // leaving the organization ends every open membership
  const org = examples('organization', 'member_added')[0];
  r = await deliver(s, 'organization', { ...org, action: 'member_removed', membership: { ...org.membership, user } },
    { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  assert.deepEqual(await s.sql(`SELECT COUNT(*) FROM memberships WHERE user_id = ${user.id} AND ended_at IS NULL`),
    [['0']]);

  // another organization's team events are stored but ignored
  const other = { ...added, organization: { ...added.organization, login: 'someone-else', id: 5 },
    member: { ...user, id: 7700002 }, team: { ...teams[0], id: 7710009 } };
  r = await deliver(s, 'membership', other, { secret: SECRET });
  assert.equal(r.json.status, 'ignored');
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM memberships WHERE team_id = 7710009'), [['0']]);
});

// One PR's lifecycle: opened, labeled, unlabeled, closed unmerged, reopened,
// closed merged, each snapshot a second later than the previous one.
function lifecycle(id) {
  const repo = { id: 5550001, name: 'tracked-repo', owner: { login: 'acme', id: 5550000 } };
  const user = { id: 5550002, login: 'dev-one', type: 'User' };
  const bug = { id: 5551, name: 'bug', color: 'd73a4a' };
  const feat = { id: 5552, name: 'feature', color: 'a2eeef' };
  const t = (sec) => `2024-03-01T10:00:${String(sec).padStart(2, '0')}Z`;
  const base = { id, number: id % 100000, repo, user, created_at: t(0), draft: false };
  const steps = [
    { action: 'opened', state: 'open', labels: [], closed_at: null, merged_at: null },
    { action: 'labeled', state: 'open', labels: [bug, feat], closed_at: null, merged_at: null },
    { action: 'unlabeled', state: 'open', labels: [feat], closed_at: null, merged_at: null },
    { action: 'closed', state: 'closed', labels: [feat], closed_at: t(3), merged_at: null, merged: false },
    { action: 'reopened', state: 'open', labels: [feat], closed_at: null, merged_at: null, merged: false },
    { action: 'closed', state: 'closed', labels: [feat], closed_at: t(5), merged_at: t(5), merged: true },
  ];
  return steps.map((st, i) => makePR({ ...base, ...st, updated_at: t(i) }));
}

function shuffle(list, seed) {
  const a = [...list];
  let x = seed;
  for (let i = a.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) % 2147483648;
    const j = x % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

test('PR lifecycle in order, reversed, shuffled, and each delivery three times: same final row', async () => {
  const orders = {
    inOrder: (l) => l,
    reversed: (l) => [...l].reverse(),
    shuffled: (l) => shuffle(l, 7),
    shuffled2: (l) => shuffle(l, 12345),
  };
  let id = 880000;
  for (const [name, order] of Object.entries(orders)) {
    for (const times of [1, 3]) {
      id++;
      const snaps = lifecycle(id);
      const list = snaps.map((p, i) => ({ event: 'pull_request', payload: p, id: `lc-${id}-${i}` }));
      const sends = order(list.flatMap((d) => Array(times).fill(d)));
      // triplicates also go in parallel: concurrent duplicates of one id
      const res = await deliverAll(s, sends, { secret: SECRET, concurrency: times === 3 ? 4 : 1 });
      for (const r of res) assert.equal(r.status, 202, r.text);
      const statuses = res.map((r) => r.json.status).sort();
      assert.equal(statuses.filter((x) => x === 'processed').length, 6, `${name} x${times}`);
      assert.equal(statuses.filter((x) => x === 'duplicate').length, 6 * (times - 1), `${name} x${times}`);
      const last = snaps[snaps.length - 1].pull_request;
      assert.deepEqual(await prRow(id), expected(last), `${name} x${times}`);
      assert.deepEqual(await s.sql(`SELECT COUNT(*) FROM deliveries WHERE id LIKE 'lc-${id}-%'`), [['6']]);
    }
  }
});

test('an older snapshot never overwrites a newer one; an equal updated_at replaces it', async () => {
  const [a, b] = lifecycle(870001).slice(1, 3);	// labeled (t1), unlabeled (t2)
  await deliver(s, 'pull_request', b, { secret: SECRET });
  await deliver(s, 'pull_request', a, { secret: SECRET });
  assert.deepEqual(await prRow(870001), expected(b.pull_request));
  // same second, different label set: the later delivery wins
  const c = JSON.parse(JSON.stringify(b));
  c.pull_request.labels = [];
  c.pull_request.title = 'renamed in the same second';
  await deliver(s, 'pull_request', c, { secret: SECRET });
  assert.deepEqual(await prRow(870001), expected(c.pull_request));
});

test('a snapshot already stored is recognised by its fingerprint: nothing written, not queued', async () => {
  const id = 893001;
  const [opened, labeled] = lifecycle(id).slice(0, 2);
  let r = await deliver(s, 'pull_request', labeled, { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  const [[fp1]] = await s.sql(`SELECT snapshot_fp FROM pull_requests WHERE id = ${id}`);
  assert.match(fp1, /^[0-9a-f]{32}$/);
  // the same snapshot in a new delivery: processed, and nothing changes or queues
  await s.sql(`DELETE FROM stat_queue WHERE pr_id = ${id}`);
  await s.sql(`UPDATE pull_requests SET title = 'edited by hand' WHERE id = ${id}`);
  r = await deliver(s, 'pull_request', labeled, { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  assert.deepEqual(await s.sql(`SELECT title FROM pull_requests WHERE id = ${id}`), [['edited by hand']],
    'a known fingerprint writes nothing');
  assert.deepEqual(await s.sql(`SELECT COUNT(*) FROM stat_queue WHERE pr_id = ${id}`), [['0']]);
  // an older snapshot than the stored one: nothing written either
  r = await deliver(s, 'pull_request', opened, { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  assert.deepEqual(await s.sql(`SELECT title FROM pull_requests WHERE id = ${id}`), [['edited by hand']]);
  // a row without a fingerprint (stored before sql/010, or by hand) is compared
  // field by field: the hand edit is undone and the fingerprint set again
  await s.sql(`UPDATE pull_requests SET snapshot_fp = NULL WHERE id = ${id}`);
  r = await deliver(s, 'pull_request', labeled, { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  assert.deepEqual(await prRow(id), expected(labeled.pull_request));
  assert.deepEqual(await s.sql(`SELECT snapshot_fp FROM pull_requests WHERE id = ${id}`), [[fp1]]);
  // the same snapshot with no difference but a fingerprint missing: only the fingerprint is written
  await s.sql(`DELETE FROM stat_queue WHERE pr_id = ${id}`);
  await s.sql(`UPDATE pull_requests SET snapshot_fp = NULL WHERE id = ${id}`);
  r = await deliver(s, 'pull_request', labeled, { secret: SECRET });
  assert.deepEqual(await s.sql(`SELECT snapshot_fp FROM pull_requests WHERE id = ${id}`), [[fp1]]);
  assert.deepEqual(await s.sql(`SELECT COUNT(*) FROM stat_queue WHERE pr_id = ${id}`), [['0']]);
  // any stored field of the snapshot changes the fingerprint: a label's color
  const recolored = JSON.parse(JSON.stringify(labeled));
  recolored.pull_request.labels[0].color = '000000';
  r = await deliver(s, 'pull_request', recolored, { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  const [[fp2]] = await s.sql(`SELECT snapshot_fp FROM pull_requests WHERE id = ${id}`);
  assert.notEqual(fp2, fp1);
  assert.deepEqual(await s.sql(`SELECT color FROM labels WHERE id = ${labeled.pull_request.labels[0].id}`),
    [['000000']]);
});

test('a PR number stored under another id: the snapshot wins, the old row and its labels go', async () => {
  const [first] = lifecycle(891001).slice(1, 2);	// labeled: two labels
  first.pull_request.number = 4242;
  let r = await deliver(s, 'pull_request', first, { secret: SECRET });
  assert.equal(r.json.status, 'processed');
  assert.equal((await s.sql('SELECT label_id FROM pr_labels WHERE pr_id = 891001')).length, 2);
  const [second] = lifecycle(891002).slice(0, 1);
  second.pull_request.number = 4242;			// same repository, same number
  r = await deliver(s, 'pull_request', second, { secret: SECRET });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.status, 'processed');
  assert.deepEqual(await s.sql("SELECT id FROM pull_requests WHERE number = 4242"), [['891002']]);
  assert.deepEqual(await s.sql('SELECT label_id FROM pr_labels WHERE pr_id = 891001'), []);
  assert.deepEqual(await prRow(891002), expected(second.pull_request));
  // the statistics learn about both
  assert.deepEqual(await s.sql('SELECT pr_id FROM stat_queue WHERE pr_id IN (891001, 891002) ORDER BY pr_id'),
    [['891001'], ['891002']]);
});

test('signatures: wrong secret, missing header, sha1 only, truncated hex -> 401 and nothing stored; rotation secret -> 202', async () => {
  const payload = examples('ping')[0];
  const body = JSON.stringify(payload);
  const cases = [
    ['wrong secret', { signature: sign('not the secret', body) }],
    ['missing header', {}],
    ['sha1 only', { headers: { 'X-Hub-Signature': 'sha1=0123456789abcdef0123456789abcdef01234567' } }],
    ['truncated hex', { signature: sign(SECRET, body).slice(0, 40) }],
    ['uppercase prefix, no digest', { signature: 'SHA256=' }],
    ['signature of another body', { signature: sign(SECRET, body + ' ') }],
  ];
  for (const [name, opts] of cases) {
    const r = await deliver(s, 'ping', payload, { body, ...opts });
    assert.equal(r.status, 401, name);
    assert.equal(r.json.error.code, 'bad_signature', name);
    assert.deepEqual(await delivery(r.id), [], `${name}: nothing stored`);
  }
  // GitHub's documented test vector, computed by our helper the same way
  assert.equal(sign("It's a Secret to Everybody", 'Hello, World!'),
    'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17');
  for (const secret of [SECRET, SECOND]) {
    const r = await deliver(s, 'ping', payload, { secret });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.json.status, 'processed');
  }
  // the form body is what is signed, not the JSON inside it
  const r = await deliver(s, 'ping', payload, { form: true, signature: sign(SECRET, body) });
  assert.equal(r.status, 401);
});

test('duplicates: the same X-GitHub-Delivery twice changes nothing the second time', async () => {
  const p = makePR({ id: 860001, number: 1, updated_at: '2024-04-01T00:00:00Z', created_at: '2024-04-01T00:00:00Z' });
  const r1 = await deliver(s, 'pull_request', p, { secret: SECRET, id: 'dup-1' });
  assert.equal(r1.json.status, 'processed');
  const stored = await s.sql('SELECT * FROM pull_requests WHERE id = 860001');
  const row = await s.sql("SELECT received_at, processed_at, body FROM deliveries WHERE id = 'dup-1'");
  // a newer snapshot under the same delivery id is still a duplicate
  const p2 = makePR({ id: 860001, number: 1, updated_at: '2024-05-01T00:00:00Z', created_at: '2024-04-01T00:00:00Z' });
  const r2 = await deliver(s, 'pull_request', p2, { secret: SECRET, id: 'dup-1', form: true });
  assert.deepEqual(r2.json, { delivery: 'dup-1', status: 'duplicate' });
  assert.deepEqual(await s.sql('SELECT * FROM pull_requests WHERE id = 860001'), stored);
  assert.deepEqual(await s.sql("SELECT received_at, processed_at, body FROM deliveries WHERE id = 'dup-1'"), row);
});

test('lb-admin deliveries [--failed] and replay ID|--all', async () => {
  // a failed delivery: valid signature, pull_request without a user
  const bad = makePR({ id: 850001, number: 2 });
  delete bad.pull_request.user;
  const rb = await deliver(s, 'pull_request', bad, { secret: SECRET, id: 'failed-1' });
  assert.equal(rb.status, 400);
  assert.equal(rb.json.error.code, 'invalid_payload');
  const failed = await s.admin(['deliveries', '--failed']);
  assert.equal(failed.code, 0, failed.stderr);
  const lines = failed.stdout.trim().split('\n');
  assert.deepEqual(lines[0].split('\t'), ['ID', 'EVENT', 'ACTION', 'OUTCOME', 'RECEIVED', 'ERROR']);
  assert.ok(lines.slice(1).every((l) => l.split('\t')[3] === 'failed'));
  assert.ok(lines.some((l) => l.startsWith('failed-1\tpull_request\topened\tfailed\t')), failed.stdout);
  const all = await s.admin(['deliveries', '--limit', '5']);
  assert.equal(all.stdout.trim().split('\n').length, 6);

  // replay of a stored body re-applies it: delete the PR row, replay, row back
  const good = makePR({ id: 850002, number: 3, labels: [{ id: 5553, name: 'docs', color: '0075ca' }] });
  const rg = await deliver(s, 'pull_request', good, { secret: SECRET, id: 'replay-1' });
  assert.equal(rg.json.status, 'processed');
  const want = await prRow(850002);
  await s.sql('DELETE FROM pr_labels WHERE pr_id = 850002; DELETE FROM pull_requests WHERE id = 850002');
  let r = await s.admin(['replay', 'replay-1']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'replay-1\tprocessed\n');
  assert.deepEqual(await prRow(850002), want);
  // a failed one still fails (exit 1), an unknown id is an error, bad usage is 2
  r = await s.admin(['replay', 'failed-1']);
  assert.equal(r.code, 1);
  r = await s.admin(['replay', 'no-such-delivery']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no-such-delivery/);
  assert.equal((await s.admin(['replay'])).code, 2);

  // replay --all is idempotent: every table stays the same, row for row
  const tables = ['pull_requests', 'pr_labels', 'labels', 'users', 'repositories', 'teams', 'memberships',
    'webhooks', 'organizations'];
  // every column but the bookkeeping write times (stored_at; updated_at except
  // in pull_requests, where it is GitHub's)
  const colsOf = async (t) => (await s.sql(`SELECT GROUP_CONCAT(column_name ORDER BY ordinal_position)
    FROM information_schema.columns WHERE table_schema = 'leaderboard' AND table_name = '${t}'
    AND column_name <> 'stored_at' AND (column_name <> 'updated_at' OR table_name = 'pull_requests')`))[0][0];
  const cols = await Promise.all(tables.map(colsOf));
  const snapshot = () => Promise.all(tables.map((t, i) => s.sql(`SELECT ${cols[i]} FROM ${t} ORDER BY 1, 2`)));
  const before = await snapshot();
  const [[nd]] = await s.sql('SELECT COUNT(*) FROM deliveries');
  r = await s.admin(['replay', '--all']);
  assert.equal(r.code, 1, 'the failed delivery makes --all exit 1');
  assert.match(r.stdout, new RegExp(`${Number(nd) - 1} replayed, 1 failed`));
  const afterAll = await snapshot();
  tables.forEach((t, i) => {
    const key = (rows) => new Set(rows.map((x) => x.join('\t')));
    const a = key(afterAll[i]), b = key(before[i]);
    assert.deepEqual({ gone: [...b].filter((x) => !a.has(x)), added: [...a].filter((x) => !b.has(x)) },
      { gone: [], added: [] }, `table ${t} changed by replay --all`);
  });
});
