// What the e2e suites set up the same way: the GitHub double, a stack that
// is stopped after the file's tests, lb-syncd as a child process, the job
// schedules held back, and polling for a condition with a deadline.
//
//   const dbl = await githubDouble({ token: TOKEN, org: 'acme' }, (d) => d.generate({ ... }));
//   const s = await fileStack({ sets: { 'github.api_url': dbl.url } });
//   await holdSchedules(s);
//   const p = daemon(s, ['--once']); ... await p.done;
//   await until('the job is done', async () => ...);
import { after } from 'node:test';
import { spawn } from 'node:child_process';
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
