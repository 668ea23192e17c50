// GitHub App authentication ([github] app_id + app_private_key_file) against
// the GitHub double acting as the App's home (tests/github-double/app.mjs,
// which verifies each JWT with the App's public key and issues installation
// tokens that expire): a backfill with an App stores the double's world
// exactly; a token that stops working mid-backfill is renewed without losing
// a page; a revoked installation is reported in one clear line; redelivery
// goes through the App's own deliveries API; configuration mistakes stop the
// programs with a clear error; neither key nor tokens show anywhere.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startStack } from './harness.mjs';
import { githubDouble } from './scaffold.mjs';
import { enableApp } from '../github-double/app.mjs';
import { addHook, addHookDelivery } from '../github-double/integrity.mjs';
import { assertDbMatches } from './double-compare.mjs';
import { examples, deliver } from './webhooks.mjs';

const APP_ID = 31337;
const INSTALLATION = 4242;
const REPOS = { 'acme/widgets': 430, 'other/lib': 120 };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lb-app-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
const KEY = path.join(tmp, 'app.pem');	// as GitHub hands it out: PKCS#1 PEM
fs.writeFileSync(KEY, privateKey, { mode: 0o600 });
const KEY_BODY = privateKey.split('\n')[5];	// a line of the key's base64, to look for in outputs

let app;
const dbl = await githubDouble({ token: null, org: 'acme' }, (d) => {
  d.generate({ seed: 22, org: 'acme', teams: 3, members: 4, outsiders: 3, repos: REPOS });
  app = enableApp(d, { appId: APP_ID, publicKeyPem: publicKey, installationId: INSTALLATION });
});

let s;
after(() => s && s.stop());

const SETS = {
  'github.api_url': dbl.url,
  'github.app_id': String(APP_ID),
  'github.app_private_key_file': KEY,
  'github.partner_org': 'acme',
  'github.repositories': Object.keys(REPOS).join(','),
};

const jwtPath = (p) => p.startsWith('/app') || /\/installation$/.test(p);

// Neither the key, a JWT nor an installation token in outputs or logs.
function assertNoSecrets(stack, ...outputs) {
  const secrets = [KEY_BODY, ...app.tokens.keys()];
  const logs = fs.readdirSync(path.join(stack.dir, 'log'))
    .map((f) => fs.readFileSync(path.join(stack.dir, 'log', f), 'utf8'));
  for (const text of [...outputs, ...logs]) {
    for (const sec of secrets) assert.ok(!text.includes(sec), 'a secret appears in an output or a log');
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.eyJ/.test(text), 'a JWT appears in an output or a log');
  }
}

test('backfill with a GitHub App: the installation is found, one token serves the whole backfill', async () => {
  s = await startStack({ sets: SETS });
  await s.sql("INSERT INTO sync_state (name, last_started_at) VALUES ('schedule:check', NOW(6))");
  assert.equal((await s.admin(['backfill'])).code, 0);
  const run = await s.prog('lb-syncd', ['--once']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(await s.sql('SELECT state, COUNT(*) FROM jobs GROUP BY state'), [['done', '3']], run.stderr);
  await assertDbMatches(s, dbl);

  // the installation came from partner_org, with a JWT, then one token
  const first = dbl.requests.slice(0, 2).map((r) => [r.method, r.path, r.status]);
  assert.deepEqual(first, [['GET', '/orgs/acme/installation', 200],
    ['POST', `/app/installations/${INSTALLATION}/access_tokens`, 201]]);
  assert.equal(app.issued.length, 1, 'one installation token for the whole backfill');
  assert.equal(app.jwtRejected, 0, 'every JWT verified with the App\'s public key');
  for (const r of dbl.requests) assert.equal(r.auth, true, `${r.method} ${r.url} refused`);
  assert.ok(dbl.requests.filter((r) => !jwtPath(r.path)).length > 5, 'the sync itself used the token');
  assertNoSecrets(s, run.stdout, run.stderr);
});

test('an installation token refused mid-backfill is renewed once and no page is lost', async () => {
  dbl.clearRequests();
  const issued0 = app.issued.length;
  // GitHub stops taking the token when page 3 of widgets is asked for
  let armed = true;
  const handle = dbl.handle.bind(dbl);
  dbl.handle = (req, res) => {
    if (armed && /\/repos\/acme\/widgets\/pulls\?.*page=3(&|$)/.test(req.url)) {
      armed = false;
      for (const t of app.tokens.values()) t.expiresAt = 0;
    }
    return handle(req, res);
  };
  try {
    const r = await s.admin(['sync', 'prs', 'acme/widgets', '--full', '--now']);
    assert.equal(r.code, 0, r.stderr);
    assertNoSecrets(s, r.stdout, r.stderr);
  } finally {
    dbl.handle = handle;
  }
  assert.equal(armed, false, 'the fault was reached');
  const pages = dbl.requests.filter((x) => x.path === '/repos/acme/widgets/pulls');
  assert.deepEqual(pages.map((x) => [x.query.page || '1', x.status]),
    [['1', 200], ['2', 200], ['3', 401], ['3', 200], ['4', 200], ['5', 200]]);
  // lb-admin is a new process: one token when it starts, one more after the 401
  assert.equal(app.issued.length, issued0 + 2);
  assert.deepEqual(dbl.requests.filter((x) => x.path.endsWith('/access_tokens')).length, 2);
  await assertDbMatches(s, dbl);
});

test('redelivery of a failed delivery goes through the App\'s deliveries API', async () => {
  // the App's webhook, as its ping announces it (type "App", no repository)
  const ping = structuredClone(examples('ping')[0]);
  ping.hook = { ...ping.hook, type: 'App', id: 77, app_id: APP_ID };
  ping.hook_id = 77;
  delete ping.repository;
  const p = await deliver(s, 'ping', ping, { hookId: 77 });
  assert.equal(p.status, 202, p.text);
  assert.deepEqual(await s.sql('SELECT hook_id, target_type FROM webhooks'), [['77', 'app']]);

  addHook(dbl, { id: 77, type: 'app', target: '' });
  const lost = addHookDelivery(dbl, 77, { guid: crypto.randomUUID(), event: 'pull_request',
    action: 'opened', status_code: 502, delivered_at: Date.now() - 3600e3 });
  dbl.clearRequests();
  const c = await s.admin(['check', '--repair']);
  assert.ok(c.stdout.includes(lost.guid), `the check names the failed delivery: ${c.stdout}`);
  const run = await s.prog('lb-syncd', ['--once']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(dbl.redeliveries.map((r) => [r.hook_id, r.guid]), [[77, lost.guid]]);
  const calls = dbl.requests.filter((r) => r.path.startsWith('/app/hook/'))
    .map((r) => [r.method, r.path.replace(/\?.*/, ''), r.status, r.auth]);
  assert.deepEqual(calls, [['GET', '/app/hook/deliveries', 200, true],
    ['POST', `/app/hook/deliveries/${lost.id}/attempts`, 202, true]]);
  assertNoSecrets(s, c.stdout, c.stderr, run.stdout, run.stderr);
});

test('a revoked installation is reported in one clear line', async () => {
  for (const i of app.installations.values()) i.revoked = true;
  // the installation found from partner_org: the org has none any more
  dbl.clearRequests();
  let r = await s.admin(['sync', 'prs', 'other/lib', '--full', '--now']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`GitHub App ${APP_ID} is not installed on acme \\(install it on the organization, or set \\[github\\] app_installation_id\\)`));
  assert.deepEqual(dbl.requests.map((x) => [x.method, x.path, x.status]), [['GET', '/orgs/acme/installation', 404]]);
  // a configured installation id: the token exchange says it is gone
  const conf = path.join(tmp, 'inst.conf');
  fs.writeFileSync(conf, fs.readFileSync(s.config, 'utf8').replace(/^app_id = .*$/m,
    (l) => `${l}\napp_installation_id = ${INSTALLATION}`), { mode: 0o600 });
  dbl.clearRequests();
  r = await s.admin(['--config', conf, 'sync', 'prs', 'other/lib', '--full', '--now']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`GitHub App ${APP_ID}: installation ${INSTALLATION} not found: the App was uninstalled or the installation id is wrong`));
  assert.deepEqual(dbl.requests.map((x) => [x.method, x.path, x.status]),
    [['POST', `/app/installations/${INSTALLATION}/access_tokens`, 404]]);
  assertNoSecrets(s, r.stdout, r.stderr);
});

test('configuration mistakes stop lb-admin with a clear error; a key others can read is warned about', async () => {
  const base = fs.readFileSync(s.config, 'utf8');
  const conf = (name, edit) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, edit(base), { mode: 0o600 });
    return f;
  };
  const both = conf('both.conf', (t) => t.replace(/^app_id = .*$/m, (l) => `${l}\ntoken = ghp_x`));
  let r = await s.admin(['--config', both, 'sync', 'teams', '--now']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /\[github\] token and app_id\/app_private_key_file are both set: use one of them/);

  const noKey = conf('nokey.conf', (t) => t.replace(/^app_private_key_file = .*\n/m, ''));
  r = await s.admin(['--config', noKey, 'sync', 'teams', '--now']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /app_id needs app_private_key_file/);

  const missing = conf('missing.conf', (t) => t.replace(/^app_private_key_file = .*$/m, `app_private_key_file = ${tmp}/none.pem`));
  r = await s.admin(['--config', missing, 'sync', 'teams', '--now']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /app_private_key_file .*none\.pem: cannot open: No such file/);

  const bad = path.join(tmp, 'bad.pem');
  fs.writeFileSync(bad, '-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n', { mode: 0o600 });
  const badConf = conf('bad.conf', (t) => t.replace(/^app_private_key_file = .*$/m, `app_private_key_file = ${bad}`));
  r = await s.admin(['--config', badConf, 'sync', 'teams', '--now']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /bad\.pem: not a PEM private key/);

  // readable by others: works, with a warning (the installation is back)
  for (const i of app.installations.values()) i.revoked = false;
  const open = path.join(tmp, 'open.pem');
  fs.writeFileSync(open, privateKey);
  fs.chmodSync(open, 0o644);
  const openConf = conf('open.conf', (t) => t.replace(/^app_private_key_file = .*$/m, `app_private_key_file = ${open}`));
  r = await s.admin(['--config', openConf, 'sync', 'teams', '--now'], { env: { LB_LOG_LEVEL: 'warn' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /open\.pem is readable or writable by others \(mode 0644\): chmod 600 it/);
  assertNoSecrets(s, r.stdout, r.stderr);
});

test('a GitHub App works with GitHub Enterprise\'s api_url (/api/v3)', async () => {
  const conf = path.join(tmp, 'ghe.conf');
  fs.writeFileSync(conf, fs.readFileSync(s.config, 'utf8')
    .replace(/^api_url = .*$/m, `api_url = ${dbl.url}/api/v3`), { mode: 0o600 });
  dbl.clearRequests();
  const r = await s.admin(['--config', conf, 'sync', 'teams', '--now']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(dbl.requests.length >= 3);
  for (const x of dbl.requests) {
    assert.equal(x.prefix, '/api/v3', `${x.path} outside /api/v3`);
    assert.equal(x.auth, true, `${x.method} ${x.path} refused`);
  }
  assert.deepEqual(dbl.requests.slice(0, 2).map((x) => x.path),
    ['/orgs/acme/installation', `/app/installations/${INSTALLATION}/access_tokens`]);
});
