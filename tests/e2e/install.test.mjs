// Install: `make install DESTDIR=$tmp`, then run the INSTALLED programs the
// way the shipped files run them on a host: lb-api.fcgi and lb-hook.fcgi
// with their units' command lines and their listening socket on fd 0 (what
// lb-*.socket + StandardInput=socket do; spawn-fcgi here), behind nginx with
// the shipped site file (plain HTTP and its TLS lines switched on), with MariaDB and a config from a private
// stack that itself runs the installed tree (LB_BUILD/LB_HTDOCS/LB_SQL_DIR).
// Also: the tree's layout and modes, reinstall keeps the config, uninstall,
// upgrade (reinstall + lb-admin migrate + restart keeps data), nginx -t on
// the shipped site, systemd-analyze verify on the units, sysusers/tmpfiles
// in an alternate root, and the manual pages (--help).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startStack, ROOT, BUILD } from './harness.mjs';

const run = promisify(execFile);
const PROGRAMS = ['lb-api.fcgi', 'lb-hook.fcgi', 'lb-syncd', 'lb-admin'];
const UNITS = ['lb-api.socket', 'lb-api.service', 'lb-hook.socket', 'lb-hook.service', 'lb-syncd.service'];
const SECRET = 'install-test-secret';

const T = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-inst-'));
const P = `${T}/usr/local`;			// PREFIX=/usr/local under DESTDIR=T
const SHARE = `${P}/share/leaderboard`;
const children = new Set();
process.on('exit', () => { for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ } });

// make install of the programs already built in $LB_BUILD (-o: never rebuild
// them here, whatever the flags of that build were).
async function makeInstall(destdir, target = 'install') {
  const olds = PROGRAMS.flatMap((p) => ['-o', path.join(BUILD, p)]);
  return run('make', ['-s', '-C', ROOT, target, `BUILD=${BUILD}`, `DESTDIR=${destdir}`, ...olds],
    { maxBuffer: 1 << 20 });
}

function filesUnder(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(path.relative(dir, path.join(e.parentPath ?? e.path, e.name)));
  }
  return out.sort();
}

// fn resolves truthy when done; a rejection from a thrown GiveUp ends the wait.
class GiveUp extends Error {}
async function poll(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch((e) => { if (e instanceof GiveUp) throw e; return undefined; });
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function sign(body, secret = SECRET) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
}

// A child we started; stop() sends SIGTERM and waits for the exit.
function startChild(cmd, args, env, logFile) {
  const log = fs.openSync(logFile, 'a');
  const c = spawn(cmd, args, { env, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  children.add(c);
  c.exited = new Promise((r) => c.on('exit', (code, sig) => { children.delete(c); r({ code, sig }); }));
  c.stop = async (sig = 'SIGTERM') => {
    if (c.exitCode === null && c.signalCode === null) c.kill(sig);
    return c.exited;
  };
  return c;
}

// The installed FastCGI program started with the command line of its
// installed unit (ExecStart=, the config path swapped for the test's), its
// listening socket on fd 0: spawn-fcgi -n binds, then execs the program in
// the same process, which is what systemd's StandardInput=socket gives it.
function unitCommand(name, config) {
  const unit = fs.readFileSync(`${P}/lib/systemd/system/${name.replace('.fcgi', '')}.service`, 'utf8');
  const m = /^ExecStart=(\S+) (.*)$/m.exec(unit);
  assert.ok(m, `${name}: ExecStart`);
  assert.equal(m[1], `/usr/local/sbin/${name}`);
  const args = m[2].split(/\s+/).map((a) => (a === '/etc/leaderboard/leaderboard.conf' ? config : a));
  assert.ok(args.includes(config), `${name}: ExecStart names the config`);
  const w = args.indexOf('--workers');
  return { prog: `${P}/sbin/${name}`, args, workers: w >= 0 ? Number(args[w + 1]) : 1 };
}

function childrenOf(pid) {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch { return []; }
}

async function startFcgi(name, sock, config, env, logDir) {
  fs.rmSync(sock, { force: true });
  const { prog, args, workers } = unitCommand(name, config);
  const c = startChild('spawn-fcgi', ['-n', '-s', sock, '-M', '0666', '--', prog, ...args],
    env, `${logDir}/installed-${name}.log`);
  await poll(`${name} socket`, async () => {
    if (c.exitCode !== null) throw new GiveUp(`${name} exited ${c.exitCode}`);
    return fs.existsSync(sock);
  });
  c.workers = workers;
  return c;
}

let stack, fresh;				// stack: MariaDB + config; fresh: second database config
let sockDir, api, hook, nginx, httpUrl, httpsPort, caPem;

before(async () => {
  await makeInstall(T);
  // a "build dir" of the installed programs for scripts/stack
  const bin = `${T}/bin-links`;
  fs.mkdirSync(bin);
  fs.symlinkSync(`${P}/bin/lb-admin`, `${bin}/lb-admin`);
  for (const p of ['lb-api.fcgi', 'lb-hook.fcgi', 'lb-syncd']) fs.symlinkSync(`${P}/sbin/${p}`, `${bin}/${p}`);
  stack = await startStack({
    sets: { 'github.webhook_secret': SECRET },
    env: { LB_BUILD: bin, LB_HTDOCS: `${SHARE}/htdocs`, LB_SQL_DIR: `${SHARE}/sql` },
  });
  sockDir = fs.mkdtempSync('/tmp/lb-isock-');
  const env = { ...stack.env };
  delete env.LB_SQL_DIR;
  api = await startFcgi('lb-api.fcgi', `${sockDir}/api.sock`, stack.config, env, `${stack.dir}/log`);
  hook = await startFcgi('lb-hook.fcgi', `${sockDir}/hook.sock`, stack.config, env, `${stack.dir}/log`);
  await startSiteNginx();
});

after(async () => {
  if (nginx) await nginx.stop('SIGQUIT');
  if (api) await api.stop();
  if (hook) await hook.stop();
  if (stack) await stack.stop();	// also fails on sanitizer reports (our programs log there too)
  if (sockDir) fs.rmSync(sockDir, { recursive: true, force: true });
  fs.rmSync(T, { recursive: true, force: true });	// the install trees (binaries are large under ASan)
});

// ---------------------------------------------------------------- nginx site

// nginx's main context around the shipped site file (which goes in http {}).
function wrapper(dir, siteFile) {
  fs.mkdirSync(`${dir}/tmp`, { recursive: true });
  return `${process.getuid() === 0 ? 'user root;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/tmp/body;
    proxy_temp_path ${dir}/tmp/proxy;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    include ${siteFile};
}
`;
}

const freePort = () => 20000 + crypto.randomInt(40000);

// The installed site file with host-specific values replaced, and its TLS
// lines switched on with a throwaway certificate. Every replaced line must
// be present, so a change to the shipped file cannot silently skip a part.
function renderSite(text, { port, tlsPort, cert, key }) {
  const subst = [
    [/^(\s*)listen 80;$/m, `$1listen 127.0.0.1:${port};`],
    [/^\s*listen \[::\]:80;\n/m, ''],
    [/^(\s*)# listen 443 ssl http2;$/m, `$1listen 127.0.0.1:${tlsPort} ssl http2;`],
    [/^\s*# listen \[::\]:443 ssl http2;\n/m, ''],
    [/^(\s*)# ssl_certificate\s+\S+;$/m, `$1ssl_certificate ${cert};`],
    [/^(\s*)# ssl_certificate_key\s+\S+;$/m, `$1ssl_certificate_key ${key};`],
    [/^(\s*)# (ssl_protocols .*)$/m, '$1$2'],
    [/^(\s*)# (ssl_session_cache .*)$/m, '$1$2'],
    [/^(\s*)# (ssl_session_timeout .*)$/m, '$1$2'],
    [/^(\s*)# (add_header Strict-Transport-Security .*)$/m, '$1$2'],
  ];
  for (const [re, to] of subst) {
    assert.match(text, re, `shipped nginx-site.conf has no line matching ${re}`);
    text = text.replace(re, to);
  }
  assert.match(text, /\/run\/leaderboard\/api\.sock/);
  assert.match(text, /\/run\/leaderboard\/hook\.sock/);
  return text.replaceAll('/run/leaderboard/', `${sockDir}/`).replaceAll('/usr/local/', `${P}/`);
}

async function startSiteNginx() {
  const dir = `${T}/nginx-site`;
  fs.mkdirSync(dir, { recursive: true });
  const key = `${dir}/tls.key`, cert = `${dir}/tls.crt`;
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  caPem = fs.readFileSync(cert);
  const shipped = fs.readFileSync(`${SHARE}/conf/nginx-site.conf`, 'utf8');
  for (let tries = 0; ; tries++) {
    const port = freePort(), tlsPort = freePort();
    fs.writeFileSync(`${dir}/site.conf`, renderSite(shipped, { port, tlsPort, cert, key }));
    fs.writeFileSync(`${dir}/nginx.conf`, wrapper(dir, `${dir}/site.conf`));
    const c = startChild('nginx', ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`],
      process.env, `${dir}/stderr.log`);
    const url = `http://127.0.0.1:${port}`;
    // ours: still running, and answering with the site's headers
    const up = await poll('nginx (site)', async () => {
      if (c.exitCode !== null) return 'exited';
      const res = await fetch(`${url}/index.html`);
      await res.arrayBuffer();
      return c.exitCode === null && res.headers.get('x-content-type-options') === 'nosniff' ? 'up' : undefined;
    }).catch((e) => e.message);
    if (up === 'up') { nginx = c; httpUrl = url; httpsPort = tlsPort; return; }
    await c.stop();
    if (tries >= 5) throw new Error(`nginx with the shipped site did not start (${up}): ` +
      fs.readFileSync(`${dir}/error.log`, 'utf8').slice(-2000));
  }
}

async function site(p, opts = {}) {
  const res = await fetch(httpUrl + p, { redirect: 'manual', ...opts });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

function siteTls(p) {
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: httpsPort, path: p, servername: 'localhost', ca: caPem }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    }).on('error', reject);
  });
}

function delivery(event, payload, id = crypto.randomUUID()) {
  const body = JSON.stringify(payload);
  return {
    id,
    body,
    headers: {
      'Content-Type': 'application/json',
      'X-GitHub-Event': event,
      'X-GitHub-Delivery': id,
      'X-GitHub-Hook-ID': '4242',
      'X-Hub-Signature-256': sign(body),
    },
  };
}
const postHook = (d, headers = d.headers) => site('/hook', { method: 'POST', headers, body: d.body });

const migrationFiles = () => fs.readdirSync(`${SHARE}/sql`).filter((f) => /^\d{3}_.*\.sql$/.test(f)).sort();
const maxVersion = () => Math.max(...migrationFiles().map((f) => Number(f.slice(0, 3))));

// ------------------------------------------------------------------- tests

test('make install lays out the tree: programs, share, units, config 0640', () => {
  for (const p of ['bin/lb-admin', 'sbin/lb-api.fcgi', 'sbin/lb-hook.fcgi', 'sbin/lb-syncd']) {
    const st = fs.statSync(`${P}/${p}`);
    assert.equal(st.mode & 0o777, 0o755, p);
  }
  // the sql and htdocs trees are copied whole
  assert.deepEqual(migrationFiles(), fs.readdirSync(`${ROOT}/sql`).filter((f) => f.endsWith('.sql')).sort());
  assert.deepEqual(filesUnder(`${SHARE}/htdocs`), filesUnder(`${ROOT}/htdocs`));
  assert.ok(fs.existsSync(`${SHARE}/conf/leaderboard.conf.example`));
  assert.ok(fs.existsSync(`${P}/share/doc/leaderboard/OPERATIONS.md`));
  for (const u of UNITS) {
    const text = fs.readFileSync(`${P}/lib/systemd/system/${u}`, 'utf8');
    assert.doesNotMatch(text, /@[A-Z]+@/, u);
  }
  assert.ok(fs.existsSync(`${P}/lib/sysusers.d/leaderboard.conf`));
  assert.ok(fs.existsSync(`${P}/lib/tmpfiles.d/leaderboard.conf`));
  const conf = `${T}/etc/leaderboard/leaderboard.conf`;
  assert.equal(fs.statSync(conf).mode & 0o777, 0o640);
  assert.equal(fs.readFileSync(conf, 'utf8'), fs.readFileSync(`${ROOT}/conf/leaderboard.conf.example`, 'utf8'));
});

test('another PREFIX is followed by the units and the nginx site', async () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-inst-usr-'));
  try {
    const olds = PROGRAMS.flatMap((p) => ['-o', path.join(BUILD, p)]);
    await run('make', ['-s', '-C', ROOT, 'install', `BUILD=${BUILD}`, `DESTDIR=${d}`, 'PREFIX=/usr', ...olds]);
    const svc = fs.readFileSync(`${d}/usr/lib/systemd/system/lb-syncd.service`, 'utf8');
    assert.match(svc, /^ExecStart=\/usr\/sbin\/lb-syncd /m);
    const siteConf = fs.readFileSync(`${d}/usr/share/leaderboard/conf/nginx-site.conf`, 'utf8');
    assert.match(siteConf, /^\s*root \/usr\/share\/leaderboard\/htdocs;$/m);
    assert.doesNotMatch(siteConf + svc, /\/usr\/local\//);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('installed lb-admin finds its migrations next to itself (no LB_SQL_DIR)', async () => {
  await stack.sql('CREATE DATABASE lb_fresh');
  fresh = `${T}/fresh.conf`;
  fs.writeFileSync(fresh, fs.readFileSync(stack.config, 'utf8').replace(/^name = .*$/m, 'name = lb_fresh'));
  const env = { ...stack.env };
  delete env.LB_SQL_DIR;
  await run(`${P}/bin/lb-admin`, ['--config', fresh, 'migrate'], { env });
  const rows = await stack.sql('SELECT COUNT(*), MAX(version) FROM lb_fresh.schema_migrations');
  assert.deepEqual(rows, [[String(migrationFiles().length), String(maxVersion())]]);
});

test('installed FastCGI programs run as their units say: socket on fd 0, the units\' worker count', async () => {
  for (const c of [api, hook]) {
    assert.ok(c.workers >= 2, `the units run several workers (${c.workers})`);
    await poll(`${c.workers} workers`, async () => childrenOf(c.pid).length === c.workers);
  }
});

test('a broken config stops the installed FastCGI programs with status 1 and the reason', async () => {
  const bad = `${T}/bad.conf`;
  fs.writeFileSync(bad, fs.readFileSync(stack.config, 'utf8') + '[sync]\nteams_every = soon\n');
  const line = fs.readFileSync(bad, 'utf8').split('\n').indexOf('teams_every = soon') + 1;
  for (const name of ['lb-api.fcgi', 'lb-hook.fcgi']) {
    const log = `${stack.dir}/log/installed-bad-${name}.log`;
    fs.rmSync(`${sockDir}/bad.sock`, { force: true });
    const { prog, args } = unitCommand(name, bad);
    const c = startChild('spawn-fcgi', ['-n', '-s', `${sockDir}/bad.sock`, '-M', '0666', '--', prog, ...args],
      stack.env, log);
    const end = await Promise.race([c.exited,
      new Promise((r) => setTimeout(() => r('still running'), 20000))]);
    if (end === 'still running') await c.stop('SIGKILL');
    assert.deepEqual(end, { code: 1, sig: null }, `${name} with a bad config`);
    const text = fs.readFileSync(log, 'utf8');
    assert.ok(text.includes(`${bad}:${line}: [sync] teams_every`), `${name} log names file and line`);
    fs.rmSync(log, { force: true });
  }
});

test('shipped nginx site + installed FastCGI programs on fd 0: health over HTTP and HTTPS', async () => {
  const r = await site('/api/health');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.database, 'ok');
  assert.equal(r.json.schema_version, maxVersion());
  assert.equal(r.json.version, fs.readFileSync(`${ROOT}/VERSION`, 'utf8').trim());
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');

  const t = await siteTls('/api/health');
  assert.equal(t.status, 200);
  assert.equal(JSON.parse(t.text).status, 'ok');
  assert.equal(t.headers['strict-transport-security'], 'max-age=31536000');
});

test('shipped nginx site: a signed webhook round trip, and a wrong signature stores nothing', async () => {
  const ping = delivery('ping', { zen: 'Keep it logically awesome.', hook_id: 4242, hook: { id: 4242 } });
  const r = await postHook(ping);
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.delivery, ping.id);
  assert.equal(r.json.status, 'processed');
  assert.deepEqual(await stack.sql(`SELECT event FROM deliveries WHERE id = '${ping.id}'`), [['ping']]);

  const again = await postHook(ping);
  assert.equal(again.status, 202);
  assert.equal(again.json.status, 'duplicate');

  const forged = delivery('ping', { zen: 'forged' });
  const bad = await postHook(forged, { ...forged.headers, 'X-Hub-Signature-256': sign(forged.body, 'wrong') });
  assert.equal(bad.status, 401);
  assert.deepEqual(await stack.sql(`SELECT COUNT(*) FROM deliveries WHERE id = '${forged.id}'`), [['0']]);
});

test('shipped nginx site: /hook is POST only and takes bodies up to 25 MB', async () => {
  for (const method of ['GET', 'HEAD', 'PUT']) {
    const r = await site('/hook', { method });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get('allow'), 'POST');
    if (method !== 'HEAD') assert.equal(r.json.error.code, 'method_not_allowed');
  }
  // 2 MB: above nginx's default 1m limit, so it only passes with the site's setting
  const big = delivery('ping', { zen: 'x'.repeat(2 << 20), hook_id: 4242 });
  const ok = await postHook(big);
  assert.equal(ok.status, 202, ok.text.slice(0, 300));
  assert.equal(ok.json.delivery, big.id);
  // one byte over 25m is refused by nginx before the program sees it
  const huge = Buffer.alloc(25 * 1024 * 1024 + 1, 0x20);
  const over = await site('/hook', { method: 'POST', body: huge,
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'ping', 'X-GitHub-Delivery': 'too-big' } });
  assert.equal(over.status, 413);
  assert.equal(over.json.error.code, 'too_large');
  // the API location keeps a small limit; nginx's 413 is a JSON error too
  const apiPost = await site('/api/health', { method: 'POST', body: Buffer.alloc(100 * 1024) });
  assert.equal(apiPost.status, 413);
  assert.match(apiPost.headers.get('content-type'), /^application\/json/);
  assert.equal(apiPost.json.error.code, 'too_large');
});

test('shipped nginx site: a strict Content-Security-Policy and its companions on every answer', async () => {
  for (const p of ['/', '/js/app.js', '/api/health', '/api/teams/nope', '/no-such-page']) {
    const r = await site(p);
    const csp = r.headers.get('content-security-policy') || '';
    const dir = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0])
      .map(([k, ...v]) => [k, v]));
    assert.deepEqual(dir['default-src'], ["'self'"], `${p}: ${csp}`);
    assert.deepEqual(dir['script-src'], ["'self'"], p);
    assert.deepEqual(dir['style-src'], ["'self'"], p);
    assert.deepEqual(dir['frame-ancestors'], ["'none'"], p);
    assert.deepEqual(dir['object-src'], ["'none'"], p);
    assert.ok(dir['img-src'].includes('https://avatars.githubusercontent.com/'), p);
    assert.ok(!/unsafe-|\*|data:/.test(csp), `${p}: ${csp}`);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
    assert.equal(r.headers.get('x-frame-options'), 'DENY', p);
    assert.equal(r.headers.get('referrer-policy'), 'same-origin', p);
  }
  const t = await siteTls('/');
  assert.ok(t.headers['content-security-policy'], 'over HTTPS too');
  assert.equal(t.headers['strict-transport-security'], 'max-age=31536000');
});

test('shipped nginx site: lb-api not running is a 502 JSON error, a malformed request a 400 one', async () => {
  await api.stop();
  try {
    const r = await site('/api/health');
    assert.equal(r.status, 502);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    assert.deepEqual(Object.keys(r.json.error), ['code', 'message']);
    assert.equal(r.json.error.code, 'bad_gateway');
  } finally {
    const env = { ...stack.env };
    delete env.LB_SQL_DIR;
    api = await startFcgi('lb-api.fcgi', `${sockDir}/api.sock`, stack.config, env, `${stack.dir}/log`);
  }
  assert.equal((await site('/api/health')).status, 200);
  const bad = await site('/api/teams/%00');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'bad_request');
});

test('shipped nginx site: static files cached, dotfiles and sql denied, Chart.js alias', async () => {
  const index = await site('/');
  assert.equal(index.status, 200);
  assert.equal(index.text, fs.readFileSync(`${SHARE}/htdocs/index.html`, 'utf8'));
  assert.equal(index.headers.get('cache-control'), 'no-cache');

  const js = filesUnder(`${SHARE}/htdocs`).find((f) => f.endsWith('.js'));
  assert.ok(js, 'htdocs has a .js file');
  const asset = await site(`/${js}`);
  assert.equal(asset.status, 200);
  assert.equal(asset.headers.get('cache-control'), 'max-age=3600');
  const etag = asset.headers.get('etag');
  assert.ok(etag);
  assert.equal((await site(`/${js}`, { headers: { 'If-None-Match': etag } })).status, 304);

  // present on disk, still never served
  fs.writeFileSync(`${SHARE}/htdocs/.env`, 'SECRET=1\n');
  fs.mkdirSync(`${SHARE}/htdocs/sql`, { recursive: true });
  fs.copyFileSync(`${SHARE}/sql/${migrationFiles()[0]}`, `${SHARE}/htdocs/sql/${migrationFiles()[0]}`);
  fs.writeFileSync(`${SHARE}/htdocs/dump.SQL`, 'DROP TABLE x;\n');
  try {
    for (const p of ['/.env', '/.git/config', `/sql/${migrationFiles()[0]}`, '/dump.SQL', '/js/.hidden']) {
      assert.equal((await site(p)).status, 403, p);
    }
  } finally {
    fs.rmSync(`${SHARE}/htdocs/.env`);
    fs.rmSync(`${SHARE}/htdocs/sql`, { recursive: true });
    fs.rmSync(`${SHARE}/htdocs/dump.SQL`);
  }

  const chart = await site('/vendor/chart.js/chart.min.js');
  assert.equal(chart.status, 200);
  assert.equal(chart.text, fs.readFileSync('/usr/share/javascript/chart.js/chart.min.js', 'utf8'));
  assert.equal(chart.headers.get('cache-control'), 'max-age=604800');
});

test('upgrade: reinstall keeps the config, lb-admin migrate, restart; data kept', async () => {
  const conf = `${T}/etc/leaderboard/leaderboard.conf`;
  const edited = fs.readFileSync(conf, 'utf8') + '\n; edited by the admin\n';
  fs.writeFileSync(conf, edited);
  fs.chmodSync(conf, 0o640);
  fs.writeFileSync(`${SHARE}/htdocs/stale-from-old-version.js`, '');
  const d = delivery('ping', { zen: 'before the upgrade', hook_id: 4242 });
  assert.equal((await postHook(d)).status, 202);

  const out = (await makeInstall(T)).stdout;
  assert.match(out, /kept .*leaderboard\.conf/);
  assert.equal(fs.readFileSync(conf, 'utf8'), edited);
  assert.equal(fs.statSync(conf).mode & 0o777, 0o640);
  // a kept config that others can read is left as it is, with a warning
  fs.chmodSync(conf, 0o644);
  const loose = await makeInstall(T);
  assert.match(loose.stderr, /leaderboard\.conf holds secrets but is mode 644/);
  assert.equal(fs.statSync(conf).mode & 0o777, 0o644);
  fs.chmodSync(conf, 0o640);
  assert.doesNotMatch((await makeInstall(T)).stderr, /holds secrets/);
  assert.equal(fs.existsSync(`${SHARE}/htdocs/stale-from-old-version.js`), false);

  const env = { ...stack.env };
  delete env.LB_SQL_DIR;
  await run(`${P}/bin/lb-admin`, ['--config', stack.config, 'migrate'], { env });
  await api.stop();
  await hook.stop();
  api = await startFcgi('lb-api.fcgi', `${sockDir}/api.sock`, stack.config, env, `${stack.dir}/log`);
  hook = await startFcgi('lb-hook.fcgi', `${sockDir}/hook.sock`, stack.config, env, `${stack.dir}/log`);

  assert.equal((await site('/api/health')).json.schema_version, maxVersion());
  const again = await postHook(d);
  assert.equal(again.status, 202);
  assert.equal(again.json.status, 'duplicate');	// the delivery stored before the upgrade is still there
  assert.deepEqual(await stack.sql(`SELECT event FROM deliveries WHERE id = '${d.id}'`), [['ping']]);
});

test('make uninstall removes everything but the config', async () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-inst-un-'));
  try {
    await makeInstall(d);
    assert.ok(filesUnder(d).length > 20);
    await makeInstall(d, 'uninstall');
    assert.deepEqual(filesUnder(d), ['etc/leaderboard/leaderboard.conf']);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('nginx -t accepts the shipped site file as installed, alone and in Debian\'s nginx.conf', async () => {
  const dir = `${T}/nginx-t`;
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${dir}/nginx.conf`, wrapper(dir, `${SHARE}/conf/nginx-site.conf`));
  const r = await run('nginx', ['-t', '-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`]);
  assert.match(r.stderr, /test is successful/);
  assert.doesNotMatch(r.stderr, /\[warn\]|\[emerg\]/);

  // and as the guide installs it: in a copy of Debian's /etc/nginx, enabled
  // next to the default site (logs and pid redirected into the copy)
  const etc = `${dir}/etc-nginx`;
  fs.cpSync('/etc/nginx', etc, { recursive: true, verbatimSymlinks: true });
  for (const f of filesUnder(etc).filter((f) => f.endsWith('.conf') || f.startsWith('sites-'))) {
    const file = `${etc}/${f}`;
    if (fs.lstatSync(file).isSymbolicLink()) continue;
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replaceAll('/etc/nginx/', `${etc}/`)
      .replaceAll('/var/log/nginx/', `${dir}/`).replaceAll('/run/nginx.pid', `${dir}/nginx.pid`));
  }
  fs.copyFileSync(`${SHARE}/conf/nginx-site.conf`, `${etc}/sites-available/leaderboard`);
  fs.symlinkSync('../sites-available/leaderboard', `${etc}/sites-enabled/leaderboard`);
  // Debian's prefix, against which its modules-enabled/ load their .so files
  const d = await run('nginx', ['-t', '-p', '/usr/share/nginx/', '-e', `${dir}/error.log`, '-c', `${etc}/nginx.conf`]);
  assert.match(d.stderr, /test is successful/);
  assert.doesNotMatch(d.stderr, /\[warn\]|\[emerg\]/);
});

test('systemd-analyze verify accepts the shipped units', async (t) => {
  const which = await run('sh', ['-c', 'command -v systemd-analyze']).catch(() => null);
  if (!which) {
    t.skip('NOT RUN: systemd-analyze is not installed (package systemd); the units were not verified');
    return;
  }
  // the units with their paths pointing into the DESTDIR tree (verify
  // checks that ExecStart= programs exist)
  const dir = `${T}/units`;
  fs.mkdirSync(dir, { recursive: true });
  for (const u of UNITS) {
    fs.writeFileSync(`${dir}/${u}`, fs.readFileSync(`${P}/lib/systemd/system/${u}`, 'utf8')
      .replaceAll('/usr/local/', `${P}/`));
  }
  const r = await run('systemd-analyze', ['verify', ...UNITS.map((u) => `${dir}/${u}`)])
    .catch((e) => assert.fail(`systemd-analyze verify failed:\n${e.stderr}`));
  assert.equal(r.stderr.split('\n').filter((l) => /lb-|leaderboard/.test(l)).join('\n'), '');

  const svc = (u) => fs.readFileSync(`${dir}/${u}`, 'utf8');
  for (const u of ['lb-api.service', 'lb-hook.service']) {
    assert.match(svc(u), /^StandardInput=socket$/m, u);
    assert.match(svc(u), /^StandardOutput=journal$/m, u);	// never the socket
  }
  for (const u of ['lb-api.service', 'lb-hook.service', 'lb-syncd.service']) {
    for (const k of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes', 'User=leaderboard']) {
      assert.match(svc(u), new RegExp(`^${k}$`, 'm'), `${u}: ${k}`);
    }
  }
  assert.match(svc('lb-syncd.service'), /^Restart=always$/m);
  assert.match(svc('lb-syncd.service'), /^ReadWritePaths=\/var\/spool\/leaderboard$/m);
  assert.match(svc('lb-hook.service'), /^ReadWritePaths=\/var\/spool\/leaderboard$/m);
});

test('sysusers and tmpfiles create the user and the spool (alternate root)', async (t) => {
  const have = await run('sh', ['-c', 'command -v systemd-sysusers && command -v systemd-tmpfiles']).catch(() => null);
  if (!have) {
    t.skip('NOT RUN: systemd-sysusers/systemd-tmpfiles are not installed');
    return;
  }
  const root = `${T}/sysroot`;
  fs.mkdirSync(`${root}/etc`, { recursive: true });
  await run('systemd-sysusers', [`--root=${root}`, `${P}/lib/sysusers.d/leaderboard.conf`]);
  const pw = fs.readFileSync(`${root}/etc/passwd`, 'utf8').split('\n').find((l) => l.startsWith('leaderboard:'));
  assert.ok(pw, 'user leaderboard created');
  const [, , uid, gid, , , shell] = pw.split(':');
  assert.ok(Number(uid) < 1000, `system uid ${uid}`);
  assert.equal(shell, '/usr/sbin/nologin');
  await run('systemd-tmpfiles', [`--root=${root}`, '--create', `${P}/lib/tmpfiles.d/leaderboard.conf`]);
  const st = fs.statSync(`${root}/var/spool/leaderboard`);
  assert.ok(st.isDirectory());
  assert.equal(st.mode & 0o777, 0o750);
  assert.equal(st.uid, Number(uid));
  assert.equal(st.gid, Number(gid));
});

test('every installed program prints a manual page with --help', async () => {
  const sections = ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'OPTIONS', 'FILES', 'EXIT STATUS'];
  const pages = {};
  for (const p of ['bin/lb-admin', 'sbin/lb-api.fcgi', 'sbin/lb-hook.fcgi']) {
    const r = await run(`${P}/${p}`, ['--help']);
    for (const s of sections) assert.match(r.stdout, new RegExp(`^${s}$`, 'm'), `${p}: section ${s}`);
    assert.match(r.stdout, new RegExp(`^NAME\\n\\s+${path.basename(p).replace('.', '\\.')} - `, 'm'));
    assert.match(r.stdout, /\/etc\/leaderboard\/leaderboard\.conf/);
    pages[p] = r.stdout;
  }
  // lb-admin documents every command of the contract
  for (const c of ['migrate', 'sync teams', 'team SLUG', 'prs OWNER/REPO [--full]', 'pr OWNER/REPO#N',
    'backfill', 'check [--repair]', 'jobs [--state STATE]', 'deliveries [--failed]', 'replay DELIVERY_ID|--all']) {
    assert.ok(pages['bin/lb-admin'].includes(c), `lb-admin --help lacks '${c}'`);
  }
  for (const p of ['sbin/lb-api.fcgi', 'sbin/lb-hook.fcgi']) {
    for (const o of ['--config FILE', '--socket PATH', '--workers N']) assert.ok(pages[p].includes(o), `${p}: ${o}`);
  }
  const syncd = await run(`${P}/sbin/lb-syncd`, ['--help']);
  assert.match(syncd.stdout, /--config/);
  assert.match(syncd.stdout, /--once/);
});
