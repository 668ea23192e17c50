// Webhooks: bad input per the contract — 400/405/413/415 as JSON errors,
// never a 5xx, never a crashed worker; a valid delivery still works after.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startStack } from './harness.mjs';
import { deliver, examples, makePR, sign } from './webhooks.mjs';

const SECRET = 'input-secret';
const MAX = 1024 * 1024;	// [hook] max_body = 1M
let s;

before(async () => {
  s = await startStack({
    sets: { 'github.webhook_secret': SECRET, 'hook.max_body': '1M', 'github.repositories': 'acme/repo' },
  });
});
after(() => s && s.stop());

function isJsonError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error?.message, 'string', r.text);
  if (code) assert.equal(r.json.error.code, code, r.text);
}

async function stillWorks() {
  const r = await deliver(s, 'ping', examples('ping')[0], { secret: SECRET });
  assert.equal(r.status, 202, r.text);
  const log = fs.readFileSync(`${s.dir}/log/hook.log`, 'utf8');
  assert.doesNotMatch(log, /worker \d+ exited/, 'no worker died');
}

test('method, content type, size and headers', async () => {
  const ping = examples('ping')[0];
  for (const method of ['GET', 'PUT', 'DELETE']) {
    isJsonError(await deliver(s, 'ping', ping, { secret: SECRET, method }), 405, 'method_not_allowed');
  }
  for (const ct of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/jsonx']) {
    isJsonError(await deliver(s, 'ping', ping, { secret: SECRET, headers: { 'Content-Type': ct } }), 415);
  }
  // charset parameter and letter case are fine
  let r = await deliver(s, 'ping', ping, { secret: SECRET, headers: { 'Content-Type': 'Application/JSON; charset=utf-8' } });
  assert.equal(r.status, 202, r.text);

  // one byte over max_body: 413 as JSON (from nginx or from the program)
  const big = JSON.stringify({ zen: 'x'.repeat(MAX) }).slice(0, MAX + 1);
  isJsonError(await deliver(s, 'ping', null, { secret: SECRET, body: big }), 413, 'too_large');
  // exactly max_body is accepted as far as size goes (then it is not JSON)
  const exact = 'x'.repeat(MAX);
  isJsonError(await deliver(s, 'ping', null, { secret: SECRET, body: exact }), 400, 'invalid_payload');

  // missing or malformed event / delivery headers
  for (const headers of [{ 'X-GitHub-Event': null }, { 'X-GitHub-Delivery': null },
    { 'X-GitHub-Delivery': 'a'.repeat(65) }, { 'X-GitHub-Delivery': '../../etc/passwd' },
    { 'X-GitHub-Event': 'Pull Request' }, { 'X-GitHub-Event': '' }]) {
    r = await deliver(s, 'ping', ping, { secret: SECRET, headers });
    isJsonError(r, 400, 'bad_request');
  }
  // nothing of the above was stored
  assert.deepEqual(await s.sql("SELECT COUNT(*) FROM deliveries WHERE outcome <> 'processed' OR event <> 'ping'"),
    [['1']], 'only the exact-size non-JSON delivery is stored, as failed');
  await stillWorks();
});

test('form-encoded bodies without a usable payload field', async () => {
  for (const body of ['', 'foo=bar', 'payloadx=%7B%7D', 'payload=%zz', 'payload=%7', 'a=1&payload']) {
    const r = await deliver(s, 'ping', null, { secret: SECRET, body: undefined, form: false,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, signature: sign(SECRET, body),
      ...{ body } });
    isJsonError(r, 400, 'bad_request');
  }
  // payload among other fields is found
  const json = JSON.stringify(examples('ping')[0]);
  const body = `a=1&payload=${encodeURIComponent(json)}&b=2`;
  const r = await deliver(s, 'ping', null, { secret: SECRET, body,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(r.status, 202, r.text);
  await stillWorks();
});

// Payloads that are signed correctly but malformed. Each answers 400
// invalid_payload, or 202 when the input is valid after all (long strings
// are cut to their column), and is recorded with outcome "failed" if 400.
test('malformed payloads: 400 invalid_payload (stored as failed), never 5xx', async () => {
  const pr = () => makePR({ id: 123456, number: 5, repo: { id: 9, name: 'repo', owner: { login: 'acme', id: 8 } } });
  const mut = (f) => { const p = pr(); f(p.pull_request, p); return JSON.stringify(p); };
  const deep = (n) => '['.repeat(n) + ']'.repeat(n);
  const cases = {
    'not JSON': 'hello',
    'empty body': '',
    'truncated JSON': JSON.stringify(pr()).slice(0, 5000),
    'top-level array': '[1,2,3]',
    'top-level string': '"pull_request"',
    'deep nesting (array)': deep(100000),
    'deep nesting in an object': `{"action":"opened","pull_request":${deep(5000)}}`,
    'invalid UTF-8': Buffer.concat([Buffer.from('{"action":"opened","x":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]),
    'overlong UTF-8': Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
    'no pull_request': '{"action":"opened"}',
    'pull_request is a string': '{"action":"opened","pull_request":"x"}',
    'id as string': mut((p) => { p.id = String(p.id); }),
    'id negative': mut((p) => { p.id = -5; }),
    'id huge integer': mut((p) => { p.id = 1; }).replace('"id":1,', '"id":99999999999999999999999999,'),
    'id huge float': mut((p) => { p.id = 1; }).replace('"id":1,', '"id":1e400,'),
    'number zero': mut((p) => { p.number = 0; }),
    'user missing': mut((p) => { delete p.user; }),
    'user is null': mut((p) => { p.user = null; }),
    'user without login': mut((p) => { delete p.user.login; }),
    'base.repo missing': mut((p) => { delete p.base.repo; }),
    'state unknown': mut((p) => { p.state = 'merged'; }),
    'created_at missing': mut((p) => { delete p.created_at; }),
    'updated_at not a date': mut((p) => { p.updated_at = 'yesterday'; }),
    'updated_at month 13': mut((p) => { p.updated_at = '2024-13-01T00:00:00Z'; }),
    'updated_at Feb 30': mut((p) => { p.updated_at = '2024-02-30T00:00:00Z'; }),
    'closed_at a number': mut((p) => { p.closed_at = 1700000000; }),
    'draft a string': mut((p) => { p.draft = 'yes'; }),
    'labels an object': mut((p) => { p.labels = { id: 1 }; }),
    'label without id': mut((p) => { p.labels = [{ name: 'x' }]; }),
    'additions negative': mut((p) => { p.additions = -1; }),
    'additions huge': mut((p) => { p.additions = 2 ** 40; }),
    'team event without team': JSON.stringify({ action: 'created', organization: { login: 'o', id: 1 } }),
    'membership without member': JSON.stringify({ ...examples('membership', 'added')[0], member: undefined }),
    'repository renamed, repository a number': JSON.stringify({ action: 'renamed', repository: 5 }),
    'ping without hook id': JSON.stringify({ zen: 'x' }),
  };
  const eventOf = (name) => (name.startsWith('team') ? 'team' : name.startsWith('membership') ? 'membership'
    : name.startsWith('repository') ? 'repository' : name.startsWith('ping') ? 'ping' : 'pull_request');
  let n = 0;
  for (const [name, body] of Object.entries(cases)) {
    for (const form of [false, true]) {
      n++;
      const id = `bad-${n}`;
      const r = await deliver(s, eventOf(name), null, { secret: SECRET, body: form ? undefined : body, id,
        ...(form ? { form: true, body: body.toString('latin1') } : {}) });
      if (form && name.includes('UTF-8')) {
        // the latin1 round trip makes valid UTF-8 of it: any non-5xx answer is right
        assert.ok(r.status < 500, `${name} (form): ${r.status} ${r.text}`);
        continue;
      }
      isJsonError(r, 400, 'invalid_payload');
      const [[outcome, err]] = await s.sql(`SELECT outcome, error FROM deliveries WHERE id = '${id}'`);
      assert.equal(outcome, 'failed', `${name} (form: ${form})`);
      assert.ok(err.length > 0);
    }
  }
  // nothing reached the normalized tables
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM pull_requests WHERE id = 123456'), [['0']]);
  await stillWorks();
});

test('huge strings are cut to their column, unicode intact; the PR is stored', async () => {
  const title = 'é'.repeat(200000) + '😀';
  const p = makePR({ id: 123457, number: 6, title, repo: { id: 9, name: 'repo', owner: { login: 'acme', id: 8 } },
    labels: [{ id: 77, name: 'ü'.repeat(1000), color: 'ffffff', description: '€'.repeat(5000) }] });
  const r = await deliver(s, 'pull_request', p, { secret: SECRET });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.status, 'processed');
  const [[t, len, tracked]] = await s.sql(`SELECT LEFT(title, 3), CHAR_LENGTH(title), r.tracked
    FROM pull_requests p JOIN repositories r ON r.id = p.repo_id WHERE p.id = 123457`);
  assert.deepEqual([t, len, tracked], ['ééé', String(Math.floor(1024 / 2)), '1']);
  const [[lname]] = await s.sql('SELECT CHAR_LENGTH(name) FROM labels WHERE id = 77');
  assert.equal(lname, String(Math.floor(255 / 2)));
  await stillWorks();
});

test('a delivery that failed is processed when it arrives again fixed (same id)', async () => {
  const p = makePR({ id: 123458, number: 7 });
  const broken = JSON.parse(JSON.stringify(p));
  delete broken.pull_request.updated_at;
  let r = await deliver(s, 'pull_request', broken, { secret: SECRET, id: 'redeliver-1' });
  isJsonError(r, 400, 'invalid_payload');
  r = await deliver(s, 'pull_request', p, { secret: SECRET, id: 'redeliver-1' });
  assert.deepEqual(r.json, { delivery: 'redeliver-1', status: 'processed' });
  assert.deepEqual(await s.sql("SELECT outcome, error IS NULL FROM deliveries WHERE id = 'redeliver-1'"),
    [['processed', '1']]);
  assert.deepEqual(await s.sql('SELECT COUNT(*) FROM pull_requests WHERE id = 123458'), [['1']]);
});

// Names longer than their column are cut at a character boundary, also where
// a cut at the byte width would split a character (org login: 100 bytes; a
// ping's target: 201 bytes).
test('a long multibyte organization login is cut at a character boundary and stored', async () => {
  const team = examples('team', 'created')[0];
  team.organization = { ...team.organization, id: 777001, login: '€'.repeat(100) };	// 300 bytes
  let r = await deliver(s, 'team', team, { secret: SECRET });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.status, 'processed');
  // 100 bytes hold 33 whole 3-byte characters
  assert.deepEqual(await s.sql('SELECT login = REPEAT(\'€\', 33) FROM organizations WHERE id = 777001'), [['1']]);

  const ping = examples('ping')[0];
  ping.hook_id = 777002;
  ping.organization = { login: 'a' + '€'.repeat(100), id: 777003 };	// 301 bytes
  r = await deliver(s, 'ping', ping, { secret: SECRET });
  assert.equal(r.status, 202, r.text);
  // 201 bytes: 'a' and 66 characters (199 bytes); a 67th would end at byte 202
  assert.deepEqual(await s.sql('SELECT target = CONCAT(\'a\', REPEAT(\'€\', 66)) FROM webhooks WHERE hook_id = 777002'),
    [['1']]);
  await stillWorks();
});
