// What the e2e suites set up the same way: the GitHub double, a stack that
// is stopped after the file's tests, lb-syncd as a child process, the job
// schedules held back, polling for a condition with a deadline, and a
// session that holds row locks.
//
//   const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => d.generate({ ... }));
//   const s = await fileStack({ sets: { 'github.api_url': dbl.url } });
//   await holdSchedules(s);
//   const p = daemon(s, ['--once']); ... await p.done;
//   await until('the job is done', async () => ...);
//   const h = await holdLock(s, 'SELECT id FROM users WHERE id = 7 FOR UPDATE', 'tag');
//   ... await h.release();
import { after } from 'node:test';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startStack, BUILD } from './harness.mjs';
import { GitHubDouble } from '../github-double/server.mjs';

// A GitHub double (tests/github-double/server.mjs) with opts, prepared by
// prepare(dbl) (its data: dbl.generate(), enableApp()...), started, and
// stopped after the file's tests.
export async function githubDouble(opts, prepare = () => {}) {
  const dbl = new GitHubDouble(opts);
  prepare(dbl);
  await dbl.start();
  after(() => dbl.stop());
  return dbl;
}

// startStack(opts), stopped after the file's tests.
export async function fileStack(opts) {
  const s = await startStack(opts);
  after(() => s.stop());
  return s;
}

// Only the jobs a test queues run: the PR and check schedules are not due.
export function holdSchedules(s) {
  return s.sql("INSERT INTO sync_state (name, last_started_at) VALUES ('schedule:prs', NOW(6)), ('schedule:check', NOW(6))");
}

// lb-syncd with the stack's config as a child process: p.log collects its
// stderr, p.done resolves to {code, sig} when it exits.
export function daemon(s, args = []) {
  const p = spawn(path.join(BUILD, 'lb-syncd'), ['--config', s.config, ...args],
    { env: s.env, stdio: ['ignore', 'ignore', 'pipe'] });
  p.log = '';
  p.stderr.on('data', (d) => { p.log += d; });
  p.done = new Promise((resolve) => p.on('exit', (code, sig) => resolve({ code, sig })));
  return p;
}

// fn()'s first truthy value, asked every `every` ms; throws after ms.
export async function until(what, fn, ms = 30000, every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

// A mariadb session that runs `BEGIN; lock;` and then sleeps, holding the
// locks lock took, until release() kills it. Resolves once it sleeps (its
// statements run in order: the locks are taken), seen in PROCESSLIST by its
// tag. (Not in information_schema.INNODB_TRX: MariaDB refreshes that table
// only when it was not read for 100 ms, so a poll faster than that can read
// the same old rows for ever.)
export async function holdLock(s, lock, tag) {
  const sock = fs.readFileSync(s.config, 'utf8').match(/^socket = (.*)$/m)[1];
  const sleep = `SELECT SLEEP(600) AS ${tag}`;
  const p = spawn('mariadb', ['--no-defaults', `--socket=${sock}`, '-uroot', 'leaderboard', '-e',
    `BEGIN; ${lock}; ${sleep}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  p.stderr.on('data', (d) => { said += d; });
  const ended = new Promise((resolve) => p.on('exit', resolve));
  after(() => { if (p.exitCode === null) p.kill(); });
  const [[thread]] = await until(`the session ${tag} holds its locks`, async () => {
    if (p.exitCode !== null) throw new Error(`the session ${tag} ended: ${said}`);
    const rows = await s.sql(`SELECT id FROM information_schema.PROCESSLIST WHERE info = '${sleep}'`);
    return rows.length ? rows : null;
  });
  return {
    thread,
    release: async () => { await s.sql(`KILL ${thread}`); await ended; },
  };
}
