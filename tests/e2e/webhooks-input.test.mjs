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

// Strings MariaDB's utf8mb4 refuses never get as far as the database: the
// JSON layer refuses them, as raw bytes or as \u escapes, in values and in
// keys, in JSON and in form bodies: 400 invalid_payload, the raw delivery
// kept as "failed" (for a replay), nothing in the normalized tables.
test('strings that are not strict UTF-8: 400 invalid_payload, nothing stored', async () => {
  const pr = (title) => makePR({ id: 123470, number: 20, title, user: { id: 555001, login: 'utf8-author' },
    repo: { id: 555002, name: 'utf8-repo', owner: { login: 'acme', id: 8 } } });
  const MARK = 'TITLE-MARK';
  const bytes = {	// each inside a PR title, between ASCII letters
    'overlong / (C0 AF)': [0xc0, 0xaf],
    'overlong NUL (C0 80)': [0xc0, 0x80],
    'overlong 3-byte (E0 80 AF)': [0xe0, 0x80, 0xaf],
    'overlong 4-byte (F0 80 80 AF)': [0xf0, 0x80, 0x80, 0xaf],
    'surrogate U+D800 (ED A0 80)': [0xed, 0xa0, 0x80],
    'surrogate U+DFFF (ED BF BF)': [0xed, 0xbf, 0xbf],
    'above U+10FFFF (F4 90 80 80)': [0xf4, 0x90, 0x80, 0x80],
    'F5 lead byte': [0xf5, 0x80, 0x80, 0x80],
    'truncated 3-byte': [0xe2, 0x82],
    'truncated 4-byte': [0xf0, 0x9f, 0x98],
    'stray continuation': [0x80],
    'continuation after a whole character': [0xc3, 0xa9, 0xa9],
  };
  const escapes = {	// JSON text in the title: surrogate escapes that pair with nothing
    'lone high surrogate': '\\ud800',
    'high surrogate then a letter': '\\uD83Dx',
    'high surrogate then another escape': '\\ud800\\u0041',
    'lone low surrogate': '\\udc00',
    'low then high': '\\uDE00\\uD83D',
  };
  const json = (raw) => {	// the PR with the raw bytes in its title, and once more in a key
    const [a, b] = JSON.stringify(pr(MARK)).split(MARK);
    return Buffer.concat([Buffer.from(a + 'x'), raw, Buffer.from('y' + b)]);
  };
  const inKey = (raw) => {
    const s = JSON.stringify(pr('fine'));
    const at = s.indexOf('"title":');
    return Buffer.concat([Buffer.from(s.slice(0, at) + '"k'), raw, Buffer.from('":1,' + s.slice(at))]);
  };
  const pct = (buf) => 'payload=' + [...buf].map((c) => '%' + c.toString(16).padStart(2, '0')).join('');
  const cases = [];
  for (const [name, b] of Object.entries(bytes)) {
    cases.push([`${name} in a value`, json(Buffer.from(b))]);
    cases.push([`${name} in a key`, inKey(Buffer.from(b))]);
  }
  for (const [name, e] of Object.entries(escapes)) {
    cases.push([`${name} in a value`, json(Buffer.from(e))]);
    cases.push([`${name} in a key`, inKey(Buffer.from(e))]);
  }
  let n = 0;
  for (const [name, body] of cases) {
    for (const form of [false, true]) {
      const id = `utf8-${++n}`;
      const r = await deliver(s, 'pull_request', null, { secret: SECRET, id, body: form ? pct(body) : body,
        headers: form ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {} });
      isJsonError(r, 400, 'invalid_payload');
      assert.match(r.json.error.message, /UTF-?8/, `${name} (form: ${form})`);
      assert.deepEqual(await s.sql(`SELECT outcome FROM deliveries WHERE id = '${id}'`), [['failed']],
        `${name} (form: ${form})`);
    }
  }
  assert.deepEqual(await s.sql(`SELECT (SELECT COUNT(*) FROM pull_requests WHERE id = 123470),
    (SELECT COUNT(*) FROM users WHERE id = 555001), (SELECT COUNT(*) FROM repositories WHERE id = 555002)`),
  [['0', '0', '0']], 'nothing of these deliveries reached the normalized tables');

  // the strict check refuses only what is wrong: the edges of valid UTF-8, and
  // escapes that pair, are stored as they are
  const good = 'x\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\u{10000}\u{10ffff}é€😀y';
  const raw = JSON.stringify(pr(MARK)).replace(MARK, good + '\\u00e9\\ud83d\\ude00\\uDBFF\\uDFFF');
  const r = await deliver(s, 'pull_request', null, { secret: SECRET, body: raw });
  assert.equal(r.status, 202, r.text);
  const [[title]] = await s.sql('SELECT HEX(title) FROM pull_requests WHERE id = 123470');
  assert.equal(title, Buffer.from(good + 'é😀\u{10ffff}').toString('hex').toUpperCase());
  await stillWorks();
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
