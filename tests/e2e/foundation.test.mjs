// Foundation: health, 503 while MariaDB is down, two stacks side by side,
// stop leaves nothing running and start works again in the same directory;
// a start that fails (its migration) leaves nothing running either.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack, ROOT, BUILD } from './harness.mjs';

// Running and not a zombie (stopped daemons wait for init to reap them).
function alive(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\w)/m)[1];
    return st !== 'Z' && st !== 'X';
  } catch { return false; }
}
// Live processes whose command line names a path under dir.
function processesOf(dir) {
  const out = [];
  for (const p of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    let cmd;
    try { cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' '); } catch { continue; }
    if (cmd.includes(`${dir}/`) && alive(p)) out.push(`${p}: ${cmd.slice(0, 200)}`);
  }
  return out;
}
function pidsOf(dir) {
  const run = `${dir}/run`;
  return fs.readdirSync(run).filter((f) => f.endsWith('.pid'))
    .map((f) => Number(fs.readFileSync(`${run}/${f}`, 'utf8').trim()));
}

// One stack for the tests that do not stop it; the side-by-side test starts its own.
let s;
before(async () => { s = await startStack(); });
after(() => s.stop());

test('health answers ok with schema version and ETag', async () => {
  const r = await s.get('/api/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.database, 'ok');
  assert.ok(Number.isInteger(r.json.schema_version) && r.json.schema_version >= 1);
  assert.equal(typeof r.json.version, 'string');
  assert.ok(r.headers.get('etag'));
  assert.equal(r.headers.get('content-type'), 'application/json');

  const again = await s.get('/api/health', { 'If-None-Match': r.headers.get('etag') });
  assert.equal(again.status, 304);

  const missing = await s.get('/api/no-such-route');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error.code, 'not_found');

  const post = await s.fetch('/api/health', { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal((await post.json()).error.code, 'method_not_allowed');
});

test('health is 503 while MariaDB is stopped, ok again after it restarts', async () => {
  await s.dbStop();
  const down = await s.get('/api/health');
  assert.equal(down.status, 503);
  assert.equal(down.json.status, 'error');
  assert.notEqual(down.json.database, 'ok');
  await s.dbStart();
  const up = await s.get('/api/health');
  assert.equal(up.status, 200);
  assert.equal(up.json.status, 'ok');
});

test('two stacks run side by side; stop leaves nothing; restart in the same dir works', async () => {
  const a = await startStack();
  const b = await startStack();
  after(() => Promise.all([a.stop(), b.stop()]));
  assert.notEqual(a.url, b.url);
  const [ra, rb] = await Promise.all([a.get('/api/health'), b.get('/api/health')]);
  assert.equal(ra.json.status, 'ok');
  assert.equal(rb.json.status, 'ok');

  const pidsA = pidsOf(a.dir);
  assert.ok(pidsA.length >= 4, `pid files: ${pidsA}`);
  await a.stop();
  for (const pid of pidsA) assert.equal(alive(pid), false, `pid ${pid} still alive`);
  assert.deepEqual(fs.readdirSync(`${a.dir}/run`).filter((f) => f.endsWith('.sock')), []);
  // b is untouched
  assert.equal((await b.get('/api/health')).json.status, 'ok');

  // same directory again: no stale socket or pid file in the way
  const a2 = await startStack({ dir: a.dir });
  after(() => a2.stop());
  assert.equal((await a2.get('/api/health')).json.status, 'ok');
});

test('stack start refuses a directory that already runs', async () => {
  await assert.rejects(startStack({ dir: s.dir }), /already runs/);
  assert.equal((await s.get('/api/health')).json.status, 'ok');
});

test('lb-admin migrate is a no-op the second time and the version table is truthful', async () => {
  const r = await s.admin(['migrate']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\(0 migrations applied\)/);
  const files = fs.readdirSync(new URL('../../sql', import.meta.url)).filter((f) => /^\d{3}_.*\.sql$/.test(f));
  const rows = await s.sql('SELECT version FROM schema_migrations ORDER BY version');
  assert.deepEqual(rows.map((x) => Number(x[0])), files.map((f) => Number(f.slice(0, 3))).sort((x, y) => x - y));
  // every table has a primary key and is InnoDB
  const bad = await s.sql(`SELECT t.table_name FROM information_schema.tables t
    WHERE t.table_schema = 'leaderboard' AND t.table_type = 'BASE TABLE' AND (t.engine <> 'InnoDB' OR NOT EXISTS (
      SELECT 1 FROM information_schema.table_constraints c WHERE c.table_schema = t.table_schema
      AND c.table_name = t.table_name AND c.constraint_type = 'PRIMARY KEY'))`);
  assert.deepEqual(bad, []);
});

test('a failing migration stops with the MariaDB error and is not recorded', async () => {
  const dir = fs.mkdtempSync(`${s.dir}/sql-`);
  for (const f of fs.readdirSync(new URL('../../sql', import.meta.url))) {
    fs.copyFileSync(new URL(`../../sql/${f}`, import.meta.url), `${dir}/${f}`);
  }
  fs.writeFileSync(`${dir}/900_broken.sql`,
    'CREATE TABLE IF NOT EXISTS t900 (id INT PRIMARY KEY) ENGINE=InnoDB;\nALTER TABLE no_such_table ADD COLUMN x INT;\n');
  const r = await s.admin(['migrate'], { env: { LB_SQL_DIR: dir } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /900_broken\.sql: statement 2: .*no_such_table/);
  assert.deepEqual(await s.sql('SELECT version FROM schema_migrations WHERE version = 900'), []);
  // fixed, it applies on the next run
  fs.writeFileSync(`${dir}/900_broken.sql`, 'CREATE TABLE IF NOT EXISTS t900 (id INT PRIMARY KEY) ENGINE=InnoDB;\n');
  const ok = await s.admin(['migrate'], { env: { LB_SQL_DIR: dir } });
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(await s.sql('SELECT version FROM schema_migrations WHERE version = 900'), [['900']]);
});

test('lb-admin: bad usage exits 2, a bad config exits 1 naming file and line', async () => {
  const u = await s.admin(['no-such-command']);
  assert.equal(u.code, 2);
  const bad = `${s.dir}/bad.conf`;
  fs.writeFileSync(bad, '[database]\nname = x\n[sync]\nteams_every = soon\n');
  const r = await s.prog('lb-admin', ['--config', bad, 'migrate']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.conf:4: \[sync\] teams_every: bad duration/);
});

test('stack start builds the config from DIR/settings, and --set wins over it', async () => {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/lb-e2e-settings-`);
  fs.writeFileSync(`${dir}/settings`,
    '# lasting settings\ngithub.partner_org = acme corp\n\nscoring.merged_points=3\napi.admin_token = t0k\n');
  const t = await startStack({ dir, sets: { 'scoring.merged_points': '5' } });
  after(async () => { await t.stop(); fs.rmSync(dir, { recursive: true, force: true }); });
  const conf = fs.readFileSync(t.config, 'utf8');
  assert.match(conf, /^partner_org = acme corp$/m);
  assert.match(conf, /^merged_points = 5$/m);
  assert.doesNotMatch(conf, /^merged_points = 3$/m);
  assert.match(conf, /^admin_token = t0k$/m);
});

test('a start whose migration fails stops what it began: no process of DIR is left', async () => {
  const dir = fs.mkdtempSync(`${os.tmpdir()}/lb-e2e-badmigrate-`);
  const stack = path.join(ROOT, 'scripts/stack');
  const sql = `${dir}/sql`;
  fs.mkdirSync(sql);
  for (const f of fs.readdirSync(path.join(ROOT, 'sql'))) fs.copyFileSync(path.join(ROOT, 'sql', f), `${sql}/${f}`);
  fs.writeFileSync(`${sql}/900_broken.sql`, 'ALTER TABLE no_such_table ADD COLUMN x INT;\n');
  try {
    const r = await new Promise((resolve) => execFile(stack, ['start', dir, '--no-syncd'],
      { env: { ...process.env, LB_BUILD: BUILD, LB_SQL_DIR: sql } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr })));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /^URL=/m);
    assert.match(r.stderr, /lb-admin migrate failed: .*900_broken\.sql: statement 1: .*no_such_table/);
    // MariaDB was running for the migration: it is gone with the rest
    assert.ok(fs.existsSync(`${dir}/db/mysql`), 'the database was created');
    assert.deepEqual(processesOf(dir), []);
    assert.deepEqual(fs.readdirSync(`${dir}/run`).filter((f) => f.endsWith('.pid') || f.endsWith('.sock')), []);
  } finally {
    try { execFileSync(stack, ['stop', dir], { stdio: 'ignore' }); } catch { /* best effort */ }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
