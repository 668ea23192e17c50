// End-to-end harness: private stacks (scripts/stack) in temp dirs, HTTP
// helpers, and cleanup that always runs (test end, failure, Ctrl-C).
//
//   const s = await startStack({ sets: { 'github.webhook_secret': 'x' } });
//   const res = await s.get('/api/health');
//   await s.stop();            // also done automatically at process exit
//
// Binaries come from $LB_BUILD (scripts/test sets it to build-asan/ for the
// sanitizer pass). When $LB_SANITIZE is set, sanitizer reports are written
// under DIR/log/ and stop() fails the test if any appeared.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const run = promisify(execFile);
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = process.env.LB_BUILD || path.join(ROOT, 'build');
const STACK = path.join(ROOT, 'scripts/stack');
const live = new Set();

function stopSync(dir) {
  try { execFileSync(STACK, ['stop', dir], { stdio: 'ignore' }); } catch { /* best effort */ }
}
// Stack directories this process created are removed at exit when every
// test passed (a failed run keeps them for its logs; LB_KEEP_STACKS=1 keeps
// them always): a stack with its MariaDB data is a few hundred MB.
const created = new Set();
process.on('exit', (code) => {
  for (const d of live) stopSync(d);
  if (code || process.exitCode || process.env.LB_KEEP_STACKS) return;
  for (const d of created) {
    try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* best effort */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => { for (const d of live) stopSync(d); process.exit(130); });
}

function sanitizerEnv(dir) {
  if (!process.env.LB_SANITIZE) return {};
  const log = path.join(dir, 'log');
  return {
    ASAN_OPTIONS: `log_path=${log}/asan:detect_leaks=1:abort_on_error=0:${process.env.ASAN_EXTRA || ''}`,
    UBSAN_OPTIONS: `log_path=${log}/ubsan:print_stacktrace=1:halt_on_error=1`,
    LSAN_OPTIONS: `suppressions=${path.join(ROOT, 'tests/lsan.supp')}:print_suppressions=0`,
  };
}

export function sanitizerReports(dir) {
  const log = path.join(dir, 'log');
  if (!fs.existsSync(log)) return [];
  return fs.readdirSync(log).filter((f) => /^(asan|ubsan)\./.test(f))
    .map((f) => `${f}:\n${fs.readFileSync(path.join(log, f), 'utf8').slice(0, 4000)}`);
}

// env: extra environment for scripts/stack and the programs (e.g. LB_BUILD,
// LB_HTDOCS, LB_SQL_DIR to run an installed tree).
export async function startStack({ sets = {}, syncd = false, port, workers, dir, env: extraEnv = {} } = {}) {
  if (!dir) {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-e2e-'));
    created.add(dir);
  }
  const args = ['start', dir];
  if (!syncd) args.push('--no-syncd');
  if (port) args.push('--port', String(port));
  if (workers) args.push('--workers', String(workers));
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  const env = { ...process.env, LB_BUILD: BUILD, ...sanitizerEnv(dir), ...extraEnv };
  // a directory that runs already (another Stack's) stays that Stack's to stop
  const ours = !live.has(dir);
  live.add(dir);
  let out, warnings;
  try {
    ({ stdout: out, stderr: warnings } = await run(STACK, args, { env, maxBuffer: 1 << 20 }));
  } catch (e) {
    // A directory that already runs belongs to someone else: leave it alone.
    if (!/already runs/.test(e.stderr || '')) stopSync(dir);
    if (ours) live.delete(dir);
    throw new Error(`stack start failed: ${e.stderr || e.message}`);
  }
  const url = /^URL=(.*)$/m.exec(out)[1];
  const config = /^CONFIG=(.*)$/m.exec(out)[1];
  const stack = new Stack(dir, url, config, env);
  stack.startStderr = warnings;	// what `scripts/stack start` said on stderr (warnings)
  return stack;
}

export class Stack {
  constructor(dir, url, config, env) {
    Object.assign(this, { dir, url, config, env });
  }

  async fetch(p, opts = {}) {
    return fetch(this.url + p, { redirect: 'manual', ...opts });
  }

  async get(p, headers = {}) {
    const res = await this.fetch(p, { headers });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  }

  // Run a build/ program with this stack's config. Resolves to
  // {code, stdout, stderr}; never throws on a non-zero exit.
  async prog(name, args = [], opts = {}) {
    try {
      const r = await run(path.join(BUILD, name), ['--config', this.config, ...args],
        { env: { ...this.env, ...(opts.env || {}) }, maxBuffer: 64 << 20, timeout: opts.timeout || 120000 });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout || '', stderr: e.stderr || String(e) };
    }
  }

  admin(args, opts) { return this.prog('lb-admin', args, opts); }

  // SQL as root through the private socket; returns rows as arrays of strings.
  async sql(query) {
    const sock = fs.readFileSync(this.config, 'utf8').match(/^socket = (.*)$/m)[1];
    const r = await run('mariadb', ['--no-defaults', `--socket=${sock}`, '-uroot', '-N', '-B',
      'leaderboard', '-e', query], { maxBuffer: 256 << 20 });
    return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
  }

  async dbStop() { await run(STACK, ['db-stop', this.dir], { env: this.env }); }
  async dbStart() { await run(STACK, ['db-start', this.dir], { env: this.env }); }

  async stop() {
    if (!live.has(this.dir)) return;
    await run(STACK, ['stop', this.dir], { env: this.env });
    live.delete(this.dir);
    const reports = sanitizerReports(this.dir);
    if (reports.length) throw new Error(`sanitizer reports in ${this.dir}/log:\n${reports.join('\n')}`);
  }
}
