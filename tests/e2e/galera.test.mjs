// Scale-out on a 3-node MariaDB Galera cluster (scripts/stack --galera 3
// --web 2): two web sets, each backed by its own database node, and two
// lb-syncd on those two nodes. A burst of signed webhook deliveries goes to
// both web sets while the daemons work a job queue; database node 2 (web set
// 2's and daemon 2's) is killed with SIGKILL in the middle of the burst and
// restarted after it (it rejoins by IST). Then: every delivery was answered
// 202 and is stored exactly once, every job ran exactly once (one claim, one
// GitHub request per PR job, logged by one daemon), and every statistic the
// API answers, on both web sets, equals what one plain MariaDB answers for
// the same scenario, computed here in the same test.
//
// Run in the plain pass only (scripts/test: three Galera nodes under the
// sanitizer build's slower programs would double the suite's time).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, ROOT } from './harness.mjs';
import { GitHubDouble } from '../github-double/server.mjs';
import { deliver, makePR } from './webhooks.mjs';

const run = promisify(execFile);
const STACK = path.join(ROOT, 'scripts/stack');
const TOKEN = 'galera-token';
const SECRET = 'galera-secret';
const SYNCED = 30;	// PRs of acme/synced, each also a sync_pr job

const dbl = new GitHubDouble({ token: TOKEN, org: 'acme' });
dbl.generate({ seed: 20, org: 'acme', teams: 3, members: 3, outsiders: 3,
  repos: { 'acme/synced': SYNCED, 'acme/widgets': 0 } });
await dbl.start();
after(() => dbl.stop());

const sets = {
  'github.api_url': dbl.url, 'github.token': TOKEN, 'github.webhook_secret': SECRET,
  'github.partner_org': 'acme', 'github.repositories': 'acme/synced,acme/widgets',
  'github.exclude_teams': 'team-3',
};

// ------------------------------------------------------------- scenario
function rng(seed) {
  let x = seed >>> 0;
  return () => { x = (x * 1664525 + 1013904223) >>> 0; return x / 2 ** 32; };
}

// pull_request deliveries to acme/widgets: 120 PRs by the double's people,
// each opened and most of them later closed or merged (a newer snapshot),
// some labeled; in a shuffled order, so a newer snapshot often comes first.
function scenario() {
  const rand = rng(7);
  const repo = dbl.repoObj(dbl.repos.get('acme/widgets'));
  const people = [...dbl.users.values()];
  const labels = [{ id: 9001, name: 'bug', color: 'd73a4a' }, { id: 9002, name: 'feature', color: 'a2eeef' }];
  const list = [];
  const iso = (t) => new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
  for (let i = 1; i <= 120; i++) {
    const u = people[Math.floor(rand() * people.length)];
    const created = Date.parse('2023-06-01T00:00:00Z') + Math.floor(rand() * 400 * 86400) * 1000;
    const later = created + (1 + Math.floor(rand() * 40 * 86400)) * 1000;
    const lab = rand() < 0.4 ? [labels[Math.floor(rand() * 2)]] : [];
    // one avatar per user, as GitHub sends it (makePR keeps the example's,
    // which differs between the opened and closed examples: the stored one
    // would depend on which delivery came last, and the two runs' orders differ)
    const base = { id: 500000 + i, number: i, repo, created_at: iso(created), labels: lab,
      user: { id: u.id, login: u.login, type: u.type, avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4` } };
    list.push(makePR({ ...base, action: 'opened', state: 'open', updated_at: iso(created),
      closed_at: null, merged_at: null }));
    const fate = rand();
    if (fate < 0.5) {
      list.push(makePR({ ...base, action: 'closed', state: 'closed', updated_at: iso(later),
        closed_at: iso(later), merged_at: iso(later) }));
    } else if (fate < 0.8) {
      list.push(makePR({ ...base, action: 'closed', state: 'closed', updated_at: iso(later),
        closed_at: iso(later), merged_at: null }));
    }
  }
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list.map((payload, k) => ({ payload, id: `00000000-0000-4000-8000-${String(k).padStart(12, '0')}` }));
}
const DELIVERIES = scenario();

// Only the work the test queues runs, plus the teams schedule (due at once:
// both daemons race for it); the PR and integrity schedules are not due.
const QUIET = "INSERT INTO sync_state (name, last_started_at) VALUES ('schedule:prs', NOW(6)), " +
  "('schedule:check', NOW(6))";
const JOBS = `INSERT INTO jobs (kind, args, dedupe_key) VALUES ${
  Array.from({ length: SYNCED }, (_, k) => `('sync_pr', '{"repo":"acme/synced","number":${k + 1}}', 'pr:acme/synced#${k + 1}')`).join(', ')}`;

// The statistics compared: every route over every period the data spans.
function routes() {
  const r = ['/api/periods', '/api/leaderboard?period=all', '/api/leaderboard?period=all&sort=points',
    '/api/contributors?period=all', '/api/prs?metric=merged&period=all', '/api/prs?metric=created&period=all'];
  for (const y of ['2023', '2024']) {
    r.push(`/api/leaderboard?period=year&value=${y}`, `/api/stats/monthly?year=${y}`,
      `/api/contributors?period=year&value=${y}`);
    for (const q of [1, 2, 3, 4]) r.push(`/api/leaderboard?period=quarter&value=${y}-Q${q}`);
    for (const t of ['team-1', 'team-2']) {
      r.push(`/api/teams/${t}?period=year&value=${y}`, `/api/stats/monthly?year=${y}&team=${t}`);
    }
  }
  for (let m = 1; m <= 12; m++) r.push(`/api/leaderboard?period=month&value=2024-${String(m).padStart(2, '0')}`);
  return r;
}

// Row ids from AUTO_INCREMENT differ by design on Galera (each node hands
// out its own residue: auto_increment_increment = the cluster size): the
// memberships' ids that /api/prs names in its "why" are left out, every
// other field is compared.
function withoutRowIds(v) {
  if (Array.isArray(v)) return v.map(withoutRowIds);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'membership_id')
      .map(([k, x]) => [k, withoutRowIds(x)]));
  }
  return v;
}

async function answers(url) {
  const out = {};
  for (const r of routes()) {
    const res = await fetch(url + r);
    out[r] = { status: res.status, body: withoutRowIds(await res.json()) };
  }
  return out;
}

// fn()'s first truthy value. An error counts as "not yet": after a node
// is killed, the others may leave the primary component for a few seconds
// (a loaded machine misses a heartbeat) and answer 1047 "WSREP has not yet
// prepared node for application use" until they merge again.
async function until(what, fn, ms = 120000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `; last error: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// SQL as root on one node of a stack (socket: the conf's socket, or node k's)
async function sql(sock, query) {
  const r = await run('mariadb', ['--no-defaults', `--socket=${sock}`, '-uroot', '-N', '-B',
    'leaderboard', '-e', query], { maxBuffer: 64 << 20 });
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

function spoolFiles(dir) {
  return fs.readdirSync(dir).filter((f) => f.endsWith('.delivery'));
}

// --------------------------------------------------------- single node
async function singleNode() {
  const s = await startStack({ sets });
  try {
    const sock = fs.readFileSync(s.config, 'utf8').match(/^socket = (.*)$/m)[1];
    await sql(sock, QUIET);
    await sql(sock, JOBS);
    for (const d of DELIVERIES) {
      const r = await deliver(s, 'pull_request', d.payload, { secret: SECRET, id: d.id });
      assert.equal(r.status, 202, r.text);
    }
    const once = await s.prog('lb-syncd', ['--once']);
    assert.equal(once.code, 0, once.stderr);
    const [[left]] = await sql(sock, "SELECT COUNT(*) FROM jobs WHERE state <> 'done'");
    assert.equal(left, '0', 'single node: every job done');
    return { api: await answers(s.url), prs: await sql(sock, PR_ROWS) };
  } finally {
    await s.stop();
  }
}

const PR_ROWS = 'SELECT id, repo_id, number, state, merged, updated_at, merged_at, closed_at, author_id ' +
  'FROM pull_requests ORDER BY id';

// --------------------------------------------------------------- cluster
test('Galera, 3 nodes, 2 web sets, 2 lb-syncd: a node killed mid-burst loses nothing and counts nothing twice', async (t) => {
  const single = await singleNode();
  dbl.clearRequests();

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-galera-'));
  const args = ['start', dir, '--galera', '3', '--web', '2'];
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  const stopCluster = () => run(STACK, ['stop', dir]).catch(() => {});
  after(async () => { await stopCluster(); fs.rmSync(dir, { recursive: true, force: true }); });
  // daemons come later (the schedules must be set first): start without, then spawn them
  const { stdout } = await run(STACK, [...args, '--no-syncd'], { maxBuffer: 1 << 20 });
  const url1 = /^URL=(.*)$/m.exec(stdout)[1], url2 = /^URL_2=(.*)$/m.exec(stdout)[1];
  const conf1 = /^CONFIG=(.*)$/m.exec(stdout)[1], conf2 = /^CONFIG_2=(.*)$/m.exec(stdout)[1];
  const hosts = (f) => fs.readFileSync(f, 'utf8').match(/^hosts = (.*)$/m)[1].split(', ');
  const [n1, n2, n3] = hosts(conf1);
  assert.equal(hosts(conf2)[0], n2, 'web set 2 works on node 2');

  // every table has a primary key (Galera replicates rows by key)
  const nopk = await sql(n1, "SELECT t.TABLE_NAME FROM information_schema.TABLES t WHERE " +
    "t.TABLE_SCHEMA = 'leaderboard' AND t.TABLE_TYPE = 'BASE TABLE' AND NOT EXISTS (SELECT 1 FROM " +
    "information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND " +
    "c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY')");
  assert.deepEqual(nopk, []);

  await sql(n1, QUIET);
  await sql(n2, JOBS);
  dbl.delayMs = 40;	// the jobs are still running when the node dies
  const { spawn } = await import('node:child_process');
  const daemon = (conf) => {
    const p = spawn(path.join(process.env.LB_BUILD || path.join(ROOT, 'build'), 'lb-syncd'),
      ['--config', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.log = '';
    p.stderr.on('data', (d) => { p.log += d; });
    p.done = new Promise((resolve) => p.on('exit', (code, sig) => resolve({ code, sig })));
    return p;
  };
  const d1 = daemon(conf1), d2 = daemon(conf2);
  after(() => { d1.kill('SIGKILL'); d2.kill('SIGKILL'); });
  // whatever fails from here, the daemons' logs and the jobs table are kept
  // in the test output directory (CI prints only the failing assertion)
  const out = path.join(process.env.LB_TEST_OUT || path.join(ROOT, 'build/test-output'), 'galera');
  const keep = async () => {
    fs.mkdirSync(out, { recursive: true });
    fs.writeFileSync(path.join(out, 'lb-syncd-1.log'), d1.log);
    fs.writeFileSync(path.join(out, 'lb-syncd-2.log'), d2.log);
    const jobs = await sql(n1, 'SELECT id, kind, state, attempts, lease_owner, lease_expires_at, ' +
      'last_error FROM jobs ORDER BY id').catch((e) => [[String(e)]]);
    fs.writeFileSync(path.join(out, 'jobs.tsv'), jobs.map((r) => r.join('\t')).join('\n') + '\n');
    // the cluster's own logs (lb-hook, nginx, each node), and the deliveries
    // answered 202 that no node stores, with their answers
    fs.cpSync(path.join(dir, 'log'), path.join(out, 'log'), { recursive: true });
    for (const k of [1, 2, 3]) {	// each node's log: its views, its joins and leaves
      const f = path.join(dir, `g${k}`, 'mariadb.log');
      if (fs.existsSync(f)) fs.copyFileSync(f, path.join(out, 'log', `mariadb-g${k}.log`));
    }
    const stored = new Set((await sql(n1, 'SELECT id FROM deliveries').catch(() => [])).map((r) => r[0]));
    const lost = DELIVERIES.map((d, i) => ({ i, id: d.id, answer: results[i] && results[i].text }))
      .filter((d) => !stored.has(d.id));
    // whether another node has them, and each node's view of the cluster
    const ids = lost.map((d) => `'${d.id}'`).join(', ') || "''";
    for (const [k, n] of [n1, n2, n3].entries()) {
      const has = await sql(n, `SELECT id, outcome, received_at, processed_at FROM deliveries WHERE id IN (${ids})`)
        .catch((e) => [[String(e)]]);
      const st = await sql(n, "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_size', " +
        "'wsrep_cluster_status', 'wsrep_last_committed', 'wsrep_local_state_comment')").catch((e) => [[String(e)]]);
      // its effects: a PR history row names the delivery that wrote it
      const hist = await sql(n, `SELECT ref, pr_id, action, change_kind FROM pr_history WHERE ref IN (${ids})`)
        .catch((e) => [[String(e)]]);
      for (const d of lost) {
        d[`node ${k + 1}`] = has.filter((r) => r[0] === d.id).map((r) => r.join(' '));
        d[`node ${k + 1} history`] = hist.filter((r) => r[0] === d.id).map((r) => r.join(' '));
      }
      lost.push({ [`node ${k + 1} status`]: st.map((r) => r.join('=')).join(' ') });
    }
    fs.writeFileSync(path.join(out, 'not-stored.json'), JSON.stringify(lost, null, 1));
    return `${jobs.filter((r) => r[2] !== 'done').map((r) => r.join(' ')).join('\n')}\nnot stored: ${JSON.stringify(lost)}`;
  };
  const results = new Array(DELIVERIES.length);
  try {
    await burstAndCheck();
  } catch (e) {
    const open = await keep();
    // a new error: an AssertionError prints the message it was made with
    throw new Error(`${e.message}\njobs not done, deliveries not stored:\n${open}\n` +
      `lb-syncd 1, last lines:\n${d1.log.split('\n').slice(-25).join('\n')}\n` +
      `lb-syncd 2, last lines:\n${d2.log.split('\n').slice(-25).join('\n')}\n(all of it in ${out})`, { cause: e });
  }
  await keep();

  async function burstAndCheck() {
    // the burst: even deliveries to web set 1, odd ones to web set 2, 3 at a time each
    let answered = 0, killed;
    const killAt = Math.floor(DELIVERIES.length * 0.4);
    const lane = async (k, url) => {
      for (let i = k; i < DELIVERIES.length; i += 6) {
        const d = DELIVERIES[i];
        results[i] = await deliver(url, 'pull_request', d.payload, { secret: SECRET, id: d.id });
        if (++answered === killAt) killed = run(STACK, ['node-kill', dir, '2']);
      }
    };
    await Promise.all([0, 1, 2, 3, 4, 5].map((k) => lane(k, k % 2 ? url2 : url1)));
    assert.ok(killed, 'node 2 was killed during the burst');
    await killed;
    const [[jobsLeft]] = await until('node 1 answers after the kill', () =>
      sql(n1, "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')"));
    for (const [i, r] of results.entries()) assert.equal(r.status, 202, `delivery ${i}: ${r.status} ${r.text}`);
    const spooled = results.filter((r) => r.json.status === 'spooled').length;
    await run(STACK, ['node-start', dir, '2']);
    dbl.delayMs = 0;

    // quiet again: spools applied, jobs finished, queue folded, every node at the same write set
    await until('spools empty', () => spoolFiles(path.join(dir, 'spool')).length === 0 &&
      spoolFiles(path.join(dir, 'spool-2')).length === 0);
    await until('jobs finished', async () =>
      (await sql(n1, "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running')"))[0][0] === '0');
    await until('folded', async () => (await sql(n1, 'SELECT COUNT(*) FROM stat_queue'))[0][0] === '0');
    const seqnos = async () => Promise.all([n1, n2, n3].map(async (n) =>
      (await sql(n, "SHOW STATUS LIKE 'wsrep_last_committed'"))[0][1]));
    await until('nodes in step', async () => new Set(await seqnos()).size === 1);

    // every delivery answered 202 is stored once, on every node
    for (const n of [n1, n2, n3]) {
      const [[rows, ids]] = await sql(n, 'SELECT COUNT(*), COUNT(DISTINCT id) FROM deliveries');
      assert.deepEqual([rows, ids], [String(DELIVERIES.length), String(DELIVERIES.length)], n);
      assert.deepEqual(await sql(n, PR_ROWS), single.prs, `PRs on ${n}`);
    }
    const [[bad]] = await sql(n1, "SELECT COUNT(*) FROM deliveries WHERE outcome = 'failed'");
    assert.equal(bad, '0');

    // every job ran once: one claim each, one daemon each, one request per PR job
    const jobs = await sql(n3, "SELECT id, kind, state, attempts FROM jobs ORDER BY id");
    assert.ok(jobs.length >= SYNCED + 1, 'the queued jobs and the teams sync');
    assert.equal(jobs.filter((j) => j[1] === 'sync_teams').length, 1, 'one teams job for two daemons');
    for (const [id, kind, state, attempts] of jobs) {
      assert.deepEqual([kind, state, attempts], [kind, 'done', '1'], `job ${id} (${kind})\n${d1.log}\n${d2.log}`);
    }
    const ran = (log) => [...log.matchAll(/job (\d+): \w+ .*\(attempt \d+\)/g)].map((m) => m[1]);
    const all = [...ran(d1.log), ...ran(d2.log)];
    assert.equal(all.length, jobs.length, `${d1.log}\n${d2.log}`);
    assert.equal(new Set(all).size, jobs.length);
    assert.ok(ran(d1.log).length > 0 && ran(d2.log).length > 0, 'both daemons ran jobs');
    const per = new Map();
    for (const r of dbl.requests) {
      if (/^\/repos\/acme\/synced\/pulls\/\d+$/.test(r.path)) per.set(r.path, (per.get(r.path) || 0) + 1);
    }
    assert.equal(per.size, SYNCED);
    for (const [p, c] of per) assert.equal(c, 1, `${p} requested ${c} times`);

    // the statistics, on both web sets, equal the single node's
    const a1 = await answers(url1), a2 = await answers(url2);
    for (const r of routes()) {
      assert.equal(single.api[r].status, 200, r);
      assert.deepEqual(a1[r], single.api[r], `web set 1: ${r}`);
      assert.deepEqual(a2[r], single.api[r], `web set 2: ${r}`);
    }
    const totals = single.api['/api/leaderboard?period=all'].body.totals;
    assert.ok(totals.created > 0 && totals.merged > 0 && totals.teams >= 2, `the scenario counts: ${JSON.stringify(totals)}`);
    d1.kill('SIGTERM');
    d2.kill('SIGTERM');
    assert.equal((await d1.done).code, 0, d1.log);
    assert.equal((await d2.done).code, 0, d2.log);
    t.diagnostic(`spooled ${spooled}, jobs left at the kill's end ${jobsLeft}`);
  }
});
