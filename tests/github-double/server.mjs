// A GitHub REST API double: just enough of api.github.com for lb-syncd, shaped
// like the real thing (objects are built from the pull_request / team / member
// payloads of @octokit/webhooks-examples). No dependency beyond node itself.
//
// Serves (JSON, Link pagination with per_page <= 100, weak ETags and 304 to
// If-None-Match, x-ratelimit-* headers; a 304 does not count against the
// limit, as on GitHub):
//   GET /orgs/{org}                       GET /orgs/{org}/teams
//   GET /orgs/{org}/teams/{slug}          GET /orgs/{org}/teams/{slug}/members
//   GET /repos/{o}/{r}/pulls?state=&sort=created|updated&direction=&per_page=&page=
//   GET /repos/{o}/{r}/pulls/{n}
// Requests need "Authorization: Bearer TOKEN" (or "token TOKEN") when a token
// is set, else 401 Bad credentials; as a GitHub App's home (app.mjs), JWTs and
// installation tokens instead. Everything is also served under /api/v3
// (GitHub Enterprise), Link URLs included.
//
// Every request is recorded ({method, path, query, status, inm, auth}).
// Tests drive it in-process (import { GitHubDouble }) or over HTTP:
//   POST /_control/generate {seed, org, teams, members, outsiders, repos: {"o/r": n}, memberAuthors}
//   POST /_control/fault {status: 403|502, match: "regex", count: 1}
//   POST /_control/merge {repo, number}    POST /_control/delay {ms}
//   POST /_control/rate {remaining, reset_in}
//   GET  /_control/requests                POST /_control/requests/clear
//   GET  /_control/stats
// CLI: node server.mjs [--port N] [--token T] [--generate JSON]; prints PORT=N.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extraAccepts, extraRoute, extraControl } from './integrity.mjs'; // search, hook deliveries
import { appAuth, appAccepts, appRoute, appControl } from './app.mjs'; // GitHub App auth

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLES = path.resolve(HERE, '../../node_modules/@octokit/webhooks-examples/api.github.com/index.json');

// ---------------------------------------------------------------- templates
let T;
function templates() {
  if (T) return T;
  const ix = JSON.parse(fs.readFileSync(EXAMPLES, 'utf8'));
  const ex = (name) => ix.find((e) => e.name === name).examples;
  const pr = ex('pull_request').find((e) => e.pull_request.labels.length > 0).pull_request;
  const team = ex('team')[0].team;
  const member = ex('membership')[0].member;
  const org = ex('organization')[0].organization;
  T = { pr, team, member, org };
  return T;
}

// Deep copy with every string's OLD replaced by NEW (pairs applied in order).
function rewrite(obj, pairs) {
  let s = JSON.stringify(obj);
  for (const [a, b] of pairs) s = s.split(a).join(b);
  return JSON.parse(s);
}

// Fields the list endpoint does not send ("simple" pull requests).
const FULL_ONLY = ['merged', 'mergeable', 'rebaseable', 'mergeable_state', 'merged_by', 'comments',
  'review_comments', 'maintainer_can_modify', 'commits', 'additions', 'deletions', 'changed_files'];

function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); }

// Small deterministic PRNG (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class GitHubDouble {
  constructor({ token = 'test-token', org = 'acme' } = {}) {
    this.token = token;
    this.requests = [];
    this.faults = [];
    this.holds = [];
    this.delayMs = 0;
    this.rate = { limit: 5000, remaining: 5000, reset: Math.floor(Date.now() / 1000) + 3600 };
    this.bytesSent = 0;
    this.reset(org);
  }

  reset(org = 'acme') {
    this.nextId = 1000;
    this.users = new Map();        // id -> {id, login, type}
    this.userObjs = new Map();     // id -> rendered object (cache)
    this.orgObj = { login: org, id: this.nextId++ };
    this.teams = [];               // {id, slug, name, description, members: Set(userId)}
    this.repos = new Map();        // 'o/r' -> {id, owner, name, full, pulls: [], labels: [], obj}
    this.clock = Date.parse('2024-06-01T00:00:00Z');
  }

  // ------------------------------------------------------------ data edits
  addUser(login, type = 'User') {
    const u = { id: this.nextId++, login, type };
    this.users.set(u.id, u);
    return u;
  }

  addTeam(slug, name = slug, description = `${name} team`) {
    const t = { id: this.nextId++, slug, name, description, members: new Set() };
    this.teams.push(t);
    return t;
  }

  team(slug) { return this.teams.find((t) => t.slug === slug); }
  addMember(slug, userId) { this.team(slug).members.add(userId); }
  removeMember(slug, userId) { this.team(slug).members.delete(userId); }
  deleteTeam(slug) { this.teams = this.teams.filter((t) => t.slug !== slug); }
  renameTeam(slug, newSlug, newName = newSlug) {
    const t = this.team(slug);
    t.slug = newSlug;
    t.name = newName;
  }

  addRepo(full) {
    const [owner, name] = full.split('/');
    const r = { id: this.nextId++, owner, name, full, pulls: [], byNumber: new Map(), labels: [], obj: null,
      ownerId: owner === this.orgObj.login ? this.orgObj.id : this.nextId++ };
    for (const [lname, color] of [['bug', 'd73a4a'], ['enhancement', 'a2eeef'], ['documentation', '0075ca'],
      ['good first issue', '7057ff'], ['partner', '00ff00']]) {
      r.labels.push({ id: this.nextId++, name: lname, color });
    }
    this.repos.set(full, r);
    return r;
  }

  // A PR record: times in ms. state/merged derived from closed/merged times.
  addPull(full, { userId, created, closed = null, merged = null, labels = [], title, draft = false }) {
    const r = this.repos.get(full);
    const number = r.pulls.length + 1;
    const p = { id: this.nextId++, number, userId, title: title || `Change number ${number}`, draft,
      created, updated: Math.max(created, closed || 0, merged || 0), closed: merged || closed, merged,
      labels };
    r.pulls.push(p);
    r.byNumber.set(number, p);
    r.sorted = null;
    return p;
  }

  tick() { this.clock += 1000; return this.clock; }

  merge(full, number, at = this.tick()) {
    const p = this.repos.get(full).byNumber.get(number);
    p.merged = at;
    p.closed = at;
    p.updated = at;
    this.repos.get(full).sorted = null;
    return p;
  }

  close(full, number, at = this.tick()) {
    const p = this.repos.get(full).byNumber.get(number);
    p.closed = at;
    p.updated = at;
    this.repos.get(full).sorted = null;
    return p;
  }

  // A deterministic organisation: teams with members, repos with PRs.
  generate({ seed = 1, org = 'acme', teams = 3, members = 4, outsiders = 3, repos = {}, memberAuthors = true } = {}) {
    this.reset(org);
    const rand = rng(seed);
    const people = [];
    for (let t = 0; t < teams; t++) {
      const team = this.addTeam(`team-${t + 1}`, `Partner ${t + 1}`);
      for (let m = 0; m < members; m++) {
        const u = this.addUser(`dev-${t + 1}-${m + 1}`);
        team.members.add(u.id);
        people.push(u);
      }
    }
    if (teams >= 2 && members >= 1) this.teams[1].members.add(people[0].id); // one in two teams
    if (!memberAuthors) people.length = 0;	// PRs by outsiders only
    for (let i = 0; i < outsiders; i++) people.push(this.addUser(`outsider-${i + 1}`));
    people.push(this.addUser('helper-bot[bot]', 'Bot'));
    const start = Date.parse('2023-01-01T00:00:00Z');
    const span = Date.parse('2024-05-01T00:00:00Z') - start;
    for (const [full, n] of Object.entries(repos)) {
      const r = this.addRepo(full);
      for (let i = 0; i < n; i++) {
        const created = start + Math.floor(rand() * span / 1000) * 1000;
        const fate = rand();
        const later = created + (1 + Math.floor(rand() * 30 * 86400)) * 1000;
        const labels = [];
        for (const l of r.labels) if (rand() < 0.15) labels.push(l.id);
        this.addPull(full, {
          userId: people[Math.floor(rand() * people.length)].id, created,
          merged: fate < 0.55 ? later : null, closed: fate >= 0.55 && fate < 0.8 ? later : null,
          labels, draft: fate > 0.97,
        });
      }
    }
    return this;
  }

  // ------------------------------------------------------------- rendering
  userObj(id) {
    let o = this.userObjs.get(id);
    if (o) return o;
    const u = this.users.get(id) || { id, login: `ghost-${id}`, type: 'User' };
    o = rewrite(templates().member, [['Codertocat', u.login]]);
    Object.assign(o, { id: u.id, node_id: Buffer.from(`04:User${u.id}`).toString('base64'),
      avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`, type: u.type });
    this.userObjs.set(id, o);
    return o;
  }

  ownerObj(r) {
    const isOrg = r.owner === this.orgObj.login;
    const o = rewrite(templates().member, [['Codertocat', r.owner]]);
    Object.assign(o, { id: r.ownerId, type: 'Organization',
      avatar_url: `https://avatars.githubusercontent.com/u/${r.ownerId}?v=4` });
    if (!isOrg) o.type = 'Organization';
    return o;
  }

  repoObj(r) {
    if (r.obj) return r.obj;
    const base = templates().pr.base.repo;
    const o = rewrite(base, [['Codertocat/Hello-World', r.full], ['Hello-World', r.name]]);
    Object.assign(o, { id: r.id, node_id: Buffer.from(`010:Repository${r.id}`).toString('base64'),
      name: r.name, full_name: r.full, owner: this.ownerObj(r), private: false });
    r.obj = o;
    return o;
  }

  labelObj(r, id) {
    const l = r.labels.find((x) => x.id === id);
    return { id: l.id, node_id: Buffer.from(`05:Label${l.id}`).toString('base64'),
      url: `https://api.github.com/repos/${r.full}/labels/${encodeURIComponent(l.name)}`,
      name: l.name, color: l.color, default: false, description: `${l.name} label` };
  }

  pullObj(r, p, full) {
    const t = templates().pr;
    const api = `https://api.github.com/repos/${r.full}`;
    const web = `https://github.com/${r.full}`;
    const sha = crypto.createHash('sha1').update(`${r.id}:${p.number}:${p.updated}`).digest('hex');
    const repo = this.repoObj(r);
    const user = this.userObj(p.userId);
    const o = {
      url: `${api}/pulls/${p.number}`, id: p.id,
      node_id: Buffer.from(`011:PullRequest${p.id}`).toString('base64'),
      html_url: `${web}/pull/${p.number}`, diff_url: `${web}/pull/${p.number}.diff`,
      patch_url: `${web}/pull/${p.number}.patch`, issue_url: `${api}/issues/${p.number}`,
      number: p.number, state: p.closed ? 'closed' : 'open', locked: false, title: p.title, user,
      body: `Body of ${p.title}`, created_at: iso(p.created), updated_at: iso(p.updated),
      closed_at: p.closed ? iso(p.closed) : null, merged_at: p.merged ? iso(p.merged) : null,
      merge_commit_sha: p.merged ? sha : null, assignee: null, assignees: [], requested_reviewers: [],
      requested_teams: [], labels: p.labels.map((id) => this.labelObj(r, id)), milestone: null,
      draft: p.draft,
      commits_url: `${api}/pulls/${p.number}/commits`, review_comments_url: `${api}/pulls/${p.number}/comments`,
      review_comment_url: `${api}/pulls/comments{/number}`, comments_url: `${api}/issues/${p.number}/comments`,
      statuses_url: `${api}/statuses/${sha}`,
      head: { label: `${user.login}:feature-${p.number}`, ref: `feature-${p.number}`, sha, user, repo },
      base: { label: `${r.owner}:main`, ref: 'main', sha: t.base.sha, user: repo.owner, repo },
      _links: {
        self: { href: `${api}/pulls/${p.number}` }, html: { href: `${web}/pull/${p.number}` },
        issue: { href: `${api}/issues/${p.number}` }, comments: { href: `${api}/issues/${p.number}/comments` },
        review_comments: { href: `${api}/pulls/${p.number}/comments` },
        review_comment: { href: `${api}/pulls/comments{/number}` },
        commits: { href: `${api}/pulls/${p.number}/commits` }, statuses: { href: `${api}/statuses/${sha}` },
      },
      author_association: 'CONTRIBUTOR', auto_merge: null, active_lock_reason: null,
    };
    if (full) {
      Object.assign(o, { merged: !!p.merged, mergeable: p.closed ? null : true, rebaseable: p.closed ? null : true,
        mergeable_state: p.closed ? 'unknown' : 'clean', merged_by: p.merged ? this.userObj(p.userId) : null,
        comments: p.number % 5, review_comments: p.number % 3, maintainer_can_modify: false,
        commits: 1 + (p.number % 4), additions: 10 * (1 + (p.number % 7)), deletions: p.number % 11,
        changed_files: 1 + (p.number % 6) });
    } else {
      for (const k of FULL_ONLY) delete o[k];
    }
    return o;
  }

  teamObj(t) {
    const o = rewrite(templates().team, [['Octocoders', this.orgObj.login]]);
    return Object.assign(o, { name: t.name, id: t.id, node_id: Buffer.from(`04:Team${t.id}`).toString('base64'),
      slug: t.slug, description: t.description, privacy: 'closed', notification_setting: 'notifications_enabled',
      url: `https://api.github.com/organizations/${this.orgObj.id}/team/${t.id}`,
      html_url: `https://github.com/orgs/${this.orgObj.login}/teams/${t.slug}`,
      members_url: `https://api.github.com/organizations/${this.orgObj.id}/team/${t.id}/members{/member}`,
      repositories_url: `https://api.github.com/organizations/${this.orgObj.id}/team/${t.id}/repos`,
      permission: 'pull', parent: null });
  }

  orgObjFull() {
    const o = rewrite(templates().org, [['Octocoders', this.orgObj.login]]);
    return Object.assign(o, { id: this.orgObj.id, node_id: Buffer.from(`012:Organization${this.orgObj.id}`).toString('base64') });
  }

  // ------------------------------------------------------------ test views
  // Expected database content, computed from the double's own records.
  snapshot() {
    const pulls = [];
    for (const r of this.repos.values()) {
      for (const p of r.pulls) {
        pulls.push({ id: p.id, repo: r.full, repo_id: r.id, number: p.number, author_id: p.userId,
          state: p.closed ? 'closed' : 'open', merged: p.merged ? 1 : 0, created_at: iso(p.created),
          updated_at: iso(p.updated), closed_at: p.closed ? iso(p.closed) : null,
          merged_at: p.merged ? iso(p.merged) : null, labels: [...p.labels].sort((a, b) => a - b) });
      }
    }
    const teams = this.teams.map((t) => ({ id: t.id, slug: t.slug, name: t.name,
      members: [...t.members].sort((a, b) => a - b) }));
    return { pulls, teams };
  }

  // ------------------------------------------------------------- HTTP side
  start(port = 0, host = '127.0.0.1') {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30000;
    return new Promise((resolve) => {
      this.server.listen(port, host, () => {
        this.port = this.server.address().port;
        this.url = `http://${host}:${this.port}`;
        resolve(this.port);
      });
    });
  }

  stop() {
    return new Promise((resolve) => {
      if (!this.server) return resolve();
      this.server.closeAllConnections?.();
      this.server.close(() => resolve());
    });
  }

  clearRequests() { this.requests = []; }

  // Holds every request whose path + query matches re until h.release();
  // h.reached resolves once the first is held (no timing involved), h.held
  // counts them. Every one, not only the first: a client that gives up on a
  // held request (lb-syncd's libcurl drops a response that stalls 30 s, then
  // asks again) must not be answered behind the test's back by its retry.
  // Released, the hold is gone: later requests are answered at once.
  hold(re) {
    const h = { re, held: 0, done: false };
    h.reached = new Promise((r) => { h.onHeld = r; });
    h.released = new Promise((r) => { h.release = () => { h.done = true; r(); }; });
    this.holds.push(h);
    return h;
  }

  fault(status, match = '.', count = 1) { this.faults.push({ status, re: new RegExp(match), count }); }

  async handle(req, res) {
    const u = new URL(req.url, `http://${req.headers.host || '127.0.0.1'}`);
    // GitHub Enterprise serves the same API under /api/v3
    const prefix = u.pathname.startsWith('/api/v3/') ? '/api/v3' : '';
    if (prefix) u.pathname = u.pathname.slice(prefix.length);
    u.apiPrefix = prefix;
    if (u.pathname.startsWith('/_control/')) return this.control(req, res, u);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const hold = this.holds.find((h) => !h.done && h.re.test(u.pathname + u.search));
    if (hold) {
      hold.held++;
      hold.onHeld();
      await hold.released;
    }
    const rec = { method: req.method, path: u.pathname, prefix, query: Object.fromEntries(u.searchParams),
      url: u.pathname + u.search, inm: req.headers['if-none-match'] || null,
      auth: false, ua: req.headers['user-agent'] || '', status: 0 };
    this.requests.push(rec);
    const send = (status, body, headers = {}) => {
      rec.status = status;
      const h = { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json',
        'x-ratelimit-limit': String(this.rate.limit), 'x-ratelimit-remaining': String(this.rate.remaining),
        'x-ratelimit-reset': String(this.rate.reset), 'x-ratelimit-used': String(this.rate.limit - this.rate.remaining),
        'x-ratelimit-resource': 'core', ...headers };
      const data = body === null ? '' : (typeof body === 'string' ? body : JSON.stringify(body));
      if (data) h['content-length'] = String(Buffer.byteLength(data));
      this.bytesSent += data.length;
      res.writeHead(status, h);
      res.end(data);
    };
    const auth = req.headers.authorization || '';
    if (this.app) { // a GitHub App: JWTs and installation tokens (app.mjs)
      const denied = appAuth(this, req, u);
      rec.auth = !denied;
      if (denied) return send(denied.status, denied.body);
    } else {
      rec.auth = this.token ? (auth === `Bearer ${this.token}` || auth === `token ${this.token}`) : true;
      if (!rec.auth) return send(401, { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest' });
    }
    if (req.method !== 'GET' && !extraAccepts(req.method, u) && !appAccepts(req.method, u)) return send(404, { message: 'Not Found' });
    for (const f of this.faults) {
      if (f.count > 0 && f.re.test(rec.url)) {
        f.count--;
        if (f.status === 403) {
          return send(403, { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            documentation_url: 'https://docs.github.com/rest/overview/resources-in-the-rest-api#secondary-rate-limits' },
          { 'retry-after': '1' });
        }
        return send(f.status, { message: 'Server Error' });
      }
    }
    if (this.rate.remaining <= 0) {
      if (Date.now() / 1000 >= this.rate.reset) {
        this.rate.remaining = this.rate.limit;
        this.rate.reset = Math.floor(Date.now() / 1000) + 3600;
      } else {
        return send(403, { message: 'API rate limit exceeded for user.', documentation_url: 'https://docs.github.com/rest' });
      }
    }
    const route = appRoute(this, req.method, u) || (req.method === 'GET' && this.route(u)) || extraRoute(this, req.method, u);
    if (!route) return send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
    if (route.status) return send(route.status, route.body); // not cacheable: 202, 404, 422
    const { body, link } = route;
    const data = JSON.stringify(body);
    const etag = `W/"${crypto.createHash('sha256').update(data).digest('hex').slice(0, 40)}"`;
    if (rec.inm && rec.inm.split(/\s*,\s*/).includes(etag)) return send(304, null, { etag });
    this.rate.remaining--;
    const headers = { etag, 'cache-control': 'private, max-age=60, s-maxage=60' };
    if (link) headers.link = link;
    return send(200, data, headers);
  }

  // Link header and slice for a list.
  page(u, items) {
    const perPage = Math.min(100, Math.max(1, Number(u.searchParams.get('per_page')) || 30));
    const pageNo = Math.max(1, Number(u.searchParams.get('page')) || 1);
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const slice = items.slice((pageNo - 1) * perPage, pageNo * perPage);
    const link = (n) => {
      const q = new URLSearchParams(u.searchParams);
      q.set('page', String(n));
      return `<${u.origin}${u.apiPrefix || ''}${u.pathname}?${q}>`;
    };
    const parts = [];
    if (pageNo < last) parts.push(`${link(pageNo + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (pageNo > 1) parts.push(`${link(1)}; rel="first"`, `${link(pageNo - 1)}; rel="prev"`);
    return { slice, link: parts.join(', ') };
  }

  route(u) {
    const seg = u.pathname.split('/').slice(1).map(decodeURIComponent);
    const org = this.orgObj.login;
    if (seg[0] === 'orgs' && seg[1] === org) {
      if (seg.length === 2) return { body: this.orgObjFull() };
      if (seg[2] === 'teams' && seg.length === 3) {
        const { slice, link } = this.page(u, this.teams);
        return { body: slice.map((t) => this.teamObj(t)), link };
      }
      if (seg[2] === 'teams' && seg.length >= 4) {
        const t = this.team(seg[3]);
        if (!t) return null;
        if (seg.length === 4) return { body: { ...this.teamObj(t), members_count: t.members.size, repos_count: 0,
          created_at: '2020-01-01T00:00:00Z', updated_at: '2024-01-01T00:00:00Z',
          organization: this.orgObjFull() } };
        if (seg[4] === 'members' && seg.length === 5) {
          const ids = [...t.members].sort((a, b) => a - b);
          const { slice, link } = this.page(u, ids);
          return { body: slice.map((id) => this.userObj(id)), link };
        }
      }
      return null;
    }
    if (seg[0] === 'repos' && seg.length >= 4 && seg[3] === 'pulls') {
      const r = this.repos.get(`${seg[1]}/${seg[2]}`);
      if (!r) return null;
      if (seg.length === 5) {
        const p = r.byNumber.get(Number(seg[4]));
        return p ? { body: this.pullObj(r, p, true) } : null;
      }
      if (seg.length !== 4) return null;
      const state = u.searchParams.get('state') || 'open';
      const sort = u.searchParams.get('sort') || 'created';
      const dir = u.searchParams.get('direction') || (sort === 'created' ? 'desc' : 'asc');
      const key = sort === 'updated' ? 'updated' : 'created';
      const ck = `${state}:${key}:${dir}`;
      if (!r.sorted) r.sorted = new Map();
      let list = r.sorted.get(ck);
      if (!list) {
        list = r.pulls.filter((p) => state === 'all' || (state === 'open') === !p.closed);
        // GitHub breaks ties by number: stable, deterministic pages
        list.sort((a, b) => (a[key] - b[key]) || (a.number - b.number));
        if (dir === 'desc') list.reverse();
        r.sorted.set(ck, list);
      }
      const { slice, link } = this.page(u, list);
      return { body: slice.map((p) => this.pullObj(r, p, false)), link };
    }
    return null;
  }

  async control(req, res, u) {
    let body = '';
    for await (const c of req) body += c;
    const args = body ? JSON.parse(body) : {};
    const ok = (v) => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify(v ?? { ok: true })); };
    switch (u.pathname) {
      case '/_control/generate': this.generate(args); return ok({ ok: true, ...this.stats() });
      case '/_control/fault': this.fault(args.status, args.match || '.', args.count || 1); return ok();
      case '/_control/merge': return ok(this.merge(args.repo, args.number));
      case '/_control/delay': this.delayMs = args.ms || 0; return ok();
      case '/_control/rate':
        this.rate.remaining = args.remaining;
        this.rate.reset = Math.floor(Date.now() / 1000) + (args.reset_in || 0);
        return ok();
      case '/_control/requests': return ok(this.requests);
      case '/_control/requests/clear': this.clearRequests(); return ok();
      case '/_control/stats': return ok(this.stats());
      default: {
        const v = extraControl(this, u.pathname, args) ?? appControl(this, u.pathname, args);
        if (v !== undefined) return ok(v);
        res.writeHead(404); return res.end();
      }
    }
  }

  stats() {
    let pulls = 0;
    for (const r of this.repos.values()) pulls += r.pulls.length;
    return { requests: this.requests.length, bytes_sent: this.bytesSent, pulls, teams: this.teams.length,
      users: this.users.size, rate_remaining: this.rate.remaining };
  }
}

// ------------------------------------------------------------------- CLI
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
  const d = new GitHubDouble({ token: opt('--token', 'test-token'), org: 'acme' });
  const gen = opt('--generate', null);
  if (gen) d.generate(JSON.parse(gen));
  await d.start(Number(opt('--port', '0')));
  process.stdout.write(`PORT=${d.port}\n`);
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => d.stop().then(() => process.exit(0)));
}
