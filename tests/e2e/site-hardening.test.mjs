// The private stack's files and nginx configuration (hardening issue): the
// generated config holding every secret is 0600; every answer carries the
// Content-Security-Policy and its companions; nginx's own errors on /api
// and /hook (a body over the limit, a request it cannot parse, a FastCGI
// program that is not running) are the product's JSON error document; the
// avatar hosts the API lets through and the CSP's img-src follow [github]
// api_url (GitHub Enterprise) or avatar_hosts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './harness.mjs';
import { deliver, makePR } from './webhooks.mjs';

const SECRET = 'site-secret';
const ORG = { id: 8001, login: 'acme' };
const REPO = { id: 8101, name: 'core', owner: { login: 'acme', id: 8001 } };
const GHE = 'ghe.example.com';

let s, dir;
before(async () => {
  // a settings file as a user writes it (umask 022: readable by others)
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-e2e-site-'));
  fs.writeFileSync(`${dir}/settings`, 'api.admin_token = token-from-settings\n', { mode: 0o644 });
  fs.chmodSync(`${dir}/settings`, 0o644);
  s = await startStack({
    dir,
    sets: {
      'github.webhook_secret': SECRET, 'github.partner_org': ORG.login, 'github.repositories': 'acme/core',
      'github.api_url': `https://${GHE}/api/v3`, 'hook.max_body': '1M',
    },
  });
});
after(async () => {
  if (s) await s.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

// A team with one member per avatar URL, each with a merged PR.
async function load(stack, avatars) {
  const hook = async (event, payload) => {
    const r = await deliver(stack, event, payload, { secret: SECRET });
    assert.equal(r.status, 202, `${event}: ${r.text}`);
  };
  const team = { id: 81, slug: 'partner', name: 'Partner' };
  const users = avatars.map((a, i) => ({ id: 8201 + i, login: `user${i}`, type: 'User', avatar_url: a }));
  await hook('team', { action: 'created', team, organization: ORG, sender: users[0] });
  for (const u of users) await hook('membership', { action: 'added', scope: 'team', member: u, team, organization: ORG, sender: u });
  await stack.sql('UPDATE memberships SET started_at = NULL');
  for (const [i, u] of users.entries()) {
    const at = `2024-05-0${i + 1}T10:00:00Z`;
    await hook('pull_request', makePR({ id: 8500 + i, number: i + 1, repo: REPO, user: u,
      action: 'closed', state: 'closed', created_at: at, updated_at: at, closed_at: at, merged_at: at }));
  }
  const r = await stack.get('/api/contributors?period=all');
  assert.equal(r.status, 200, r.text);
  return Object.fromEntries(r.json.contributors.map((c) => [users.find((u) => u.login === c.login).avatar_url, c.avatar_url]));
}

function cspOf(res) {
  const csp = res.headers.get('content-security-policy') || '';
  return Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0])
    .map(([k, ...v]) => [k, v]));
}

// One raw HTTP/1.1 exchange (for requests fetch() will not send).
function raw(request) {
  return new Promise((resolve, reject) => {
    const { port } = new URL(s.url);
    const sock = net.createConnection({ host: '127.0.0.1', port: Number(port) });
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => { data += d; });
    sock.on('error', reject);
    sock.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const [line, ...hs] = head.split('\r\n');
      const headers = Object.fromEntries(hs.map((h) => [h.slice(0, h.indexOf(':')).toLowerCase(), h.slice(h.indexOf(':') + 1).trim()]));
      resolve({ status: Number(line.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
    sock.end(request);
  });
}

// The product's error document, exactly: {"error": {"code", "message"}}.
function assertJsonError(status, ctype, body, wantStatus, wantCode, what) {
  assert.equal(status, wantStatus, `${what}: ${body.slice(0, 200)}`);
  assert.match(ctype || '', /^application\/json/, `${what}: Content-Type`);
  const doc = JSON.parse(body);
  assert.deepEqual(Object.keys(doc), ['error'], what);
  assert.deepEqual(Object.keys(doc.error), ['code', 'message'], what);
  assert.equal(doc.error.code, wantCode, what);
  assert.ok(doc.error.message.length > 0, what);
  return doc;
}

test('the generated config holds the secrets with mode 0600; a settings file others can read is warned about', () => {
  const st = fs.statSync(s.config);
  assert.equal(st.mode & 0o777, 0o600, `mode ${(st.mode & 0o777).toString(8)}`);
  assert.match(fs.readFileSync(s.config, 'utf8'), /^admin_token = token-from-settings$/m, 'settings were read');
  assert.match(s.startStderr, /settings is readable by others/);
  assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temporary file left');
});

test('every answer carries the CSP, nosniff, DENY framing and a referrer policy', async () => {
  const answers = {
    page: await s.fetch('/'),
    asset: await s.fetch('/js/app.js'),
    missing: await s.fetch('/no-such-file'),
    api: await s.fetch('/api/health'),
    apiError: await s.fetch('/api/teams/no-such-team'),
    hook: await s.fetch('/hook', { method: 'GET' }),
    nginxError: await s.fetch('/api/health', { method: 'POST', body: Buffer.alloc(100 * 1024) }),
  };
  const want = answers.page.headers.get('content-security-policy');
  assert.ok(want, 'the page has a CSP');
  for (const [what, res] of Object.entries(answers)) {
    await res.arrayBuffer();
    assert.equal(res.headers.get('content-security-policy'), want, what);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
    assert.equal(res.headers.get('x-frame-options'), 'DENY', what);
    assert.equal(res.headers.get('referrer-policy'), 'same-origin', what);
  }
  const csp = cspOf(answers.page);
  assert.deepEqual(csp['default-src'], ["'self'"]);
  assert.deepEqual(csp['script-src'], ["'self'"]);
  assert.deepEqual(csp['style-src'], ["'self'"]);
  assert.deepEqual(csp['frame-ancestors'], ["'none'"]);
  assert.ok(!/unsafe-|\*|data:/.test(want), want);
  // img-src: this host, github.com's avatar hosts and those of the GitHub Enterprise api_url
  assert.deepEqual(csp['img-src'].filter((x) => !/^https:\/\/avatars\d?\.githubusercontent\.com\/$/.test(x)),
    ["'self'", `https://${GHE}/avatars/`, `https://avatars.${GHE}/`]);
  assert.ok(csp['img-src'].includes('https://avatars.githubusercontent.com/'));
});

test('with a GitHub Enterprise api_url, its avatar locations pass as well as GitHub\'s; others are null', async () => {
  const a = [`https://${GHE}/avatars/u/1?v=4`, `https://avatars.${GHE}/u/2?v=4`,
    'https://avatars.githubusercontent.com/u/3?v=4', `https://${GHE}/u/4/pixel.gif`, `https://evil.${GHE}/u/5`];
  const got = await load(s, a);
  assert.deepEqual(got, { [a[0]]: a[0], [a[1]]: a[1], [a[2]]: a[2], [a[3]]: null, [a[4]]: null });
});

test('nginx\'s own errors on /api and /hook are JSON error documents', async () => {
  // bodies over the limits
  let r = await s.fetch('/api/health', { method: 'POST', body: Buffer.alloc(100 * 1024) });
  assertJsonError(r.status, r.headers.get('content-type'), await r.text(), 413, 'too_large', 'POST /api over 64k');
  r = await s.fetch('/hook', { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1, 0x20),
    headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'ping', 'X-GitHub-Delivery': 'too-big' } });
  const doc = assertJsonError(r.status, r.headers.get('content-type'), await r.text(), 413, 'too_large', '/hook over max_body');
  assert.match(doc.error.message, /max_body/);
  // requests nginx refuses before the programs see them
  const cases = [
    ['a NUL byte in the path', 'GET /api/teams/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'bad_request'],
    ['a bad escape', 'GET /api/teams/%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'bad_request'],
    ['a bad Host header', 'GET /api/health HTTP/1.1\r\nHost: a/b\r\nConnection: close\r\n\r\n', 400, 'bad_request'],
    ['headers too large', `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70000)}\r\nConnection: close\r\n\r\n`, 400, 'bad_request'],
    ['a URI too long', `GET /api/health?${'a'.repeat(70000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 414, 'uri_too_long'],
    ['a broken chunked body', 'POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n', 400, 'bad_request'],
  ];
  for (const [what, req, status, code] of cases) {
    const a = await raw(req);
    assertJsonError(a.status, a.headers['content-type'], a.body, status, code, what);
  }
});

// last: it stops the stack's FastCGI programs
test('a FastCGI program that is not running: 502 with a JSON error on /api and on /hook', async () => {
  for (const name of ['api', 'hook']) {
    const pid = Number(fs.readFileSync(`${s.dir}/run/${name}.pid`, 'utf8'));
    process.kill(pid, 'SIGTERM');
  }
  const deadline = Date.now() + 15000;
  let r;
  do {
    r = await s.get('/api/health');
    if (r.status === 502) break;
    await new Promise((res) => setTimeout(res, 100));
  } while (Date.now() < deadline);
  assertJsonError(r.status, r.headers.get('content-type'), r.text, 502, 'bad_gateway', '/api down');
  const h = await deliver(s, 'ping', { zen: 'down' }, { secret: SECRET });
  assertJsonError(h.status, 'application/json', h.text, 502, 'bad_gateway', '/hook down');
  const hr = await s.fetch('/hook', { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
  assert.match(hr.headers.get('content-type'), /^application\/json/);
  assert.equal(hr.headers.get('x-content-type-options'), 'nosniff');
  await hr.arrayBuffer();
});

test('[github] avatar_hosts replaces the defaults, in the API and in the CSP', async () => {
  const other = await startStack({
    sets: {
      'github.webhook_secret': SECRET, 'github.partner_org': ORG.login, 'github.repositories': 'acme/core',
      'github.avatar_hosts': 'https://cdn.example.org/avatars',
    },
  });
  try {
    const res = await other.fetch('/');
    await res.arrayBuffer();
    assert.deepEqual(cspOf(res)['img-src'], ["'self'", 'https://cdn.example.org/avatars/']);
    const a = ['https://cdn.example.org/avatars/u/1.png', 'https://avatars.githubusercontent.com/u/2?v=4',
      'https://cdn.example.org/avatarsX/u/3.png'];
    assert.deepEqual(await load(other, a), { [a[0]]: a[0], [a[1]]: null, [a[2]]: null });
  } finally {
    await other.stop();
  }
});
