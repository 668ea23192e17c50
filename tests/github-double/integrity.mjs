// The GitHub double's routes for the integrity checks (loaded by server.mjs):
//
//   GET  /search/issues?q=...&per_page=&page=&sort=created|updated&order=asc|desc
//        q: repo:O/R is:pr is:issue is:merged is:unmerged is:open is:closed
//           state:open|closed created:A..B merged:A..B closed:A..B
//           updated:A..B (also >=A, >A, <=B, <B), A/B as YYYY-MM-DD (whole
//           UTC days) or ISO times; label:NAME or label:"NAME WITH SPACES"
//           (case-insensitive; several label: qualifiers must all match,
//           label:a,b matches either). Only PRs exist here, so is:issue
//           matches nothing; is:unmerged is every PR not merged, open ones
//           included (so a count of PRs closed without merge says
//           is:closed is:unmerged). Results are issue objects with
//           pull_request.merged_at; like GitHub, at most 1,000 are listed
//           while total_count counts all; a q longer than 256 characters
//           is refused (422), as on GitHub.
//   GET  /repos/{o}/{r}/labels?per_page=&page=   the repository's labels
//        (paged, ETag like every list).
//   GET  /orgs/{org}/hooks/{id}/deliveries?per_page=&cursor=
//   GET  /repos/{o}/{r}/hooks/{id}/deliveries?per_page=&cursor=
//        newest first, Link rel="next" with an opaque cursor.
//   GET  /app/hook/deliveries, POST /app/hook/deliveries/{id}/attempts: the
//        same for the hook of type 'app' (a GitHub App's webhook)
//   POST .../hooks/{id}/deliveries/{delivery_id}/attempts -> 202 {}: recorded
//        in d.redeliveries ({hook_id, delivery_id, guid}) and added to the
//        list as a successful redelivery (redelivery: true, 200 OK).
//
// State lives on the double: d.hooks (Map id -> {id, type, target,
// deliveries: [...] newest first}). Helpers for tests:
//   addHook(d, {id, type: 'organization'|'repository', target})
//   addHookDelivery(d, hookId, {guid, event, action, status_code, status, delivered_at})
// Over HTTP: POST /_control/hook {id, type, target}, POST /_control/hook-delivery
// {hook_id, ...delivery}, GET /_control/redeliveries.

import { randomUUID } from 'node:crypto';

function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); }

function state(d) {
  if (!d.hooks) {
    d.hooks = new Map();
    d.redeliveries = [];
    d.nextDeliveryId = 9_000_000;
  }
  return d;
}

export function addHook(d, { id, type = 'organization', target }) {
  state(d);
  const h = { id: Number(id), type, target: target || (type === 'organization' ? d.orgObj.login : ''), deliveries: [] };
  d.hooks.set(h.id, h);
  return h;
}

export function addHookDelivery(d, hookId, { guid, event = 'pull_request', action = null, status_code = 200,
  status, delivered_at = Date.now(), redelivery = false } = {}) {
  state(d);
  const h = d.hooks.get(Number(hookId));
  const del = { id: d.nextDeliveryId++, guid: guid || randomUUID(), delivered_at: iso(delivered_at),
    redelivery, duration: 0.05, status: status || (status_code >= 200 && status_code < 300 ? 'OK' : `Invalid HTTP Response: ${status_code}`),
    status_code, event, action, installation_id: null, repository_id: null };
  h.deliveries.unshift(del);
  return del;
}

// "2024-03-01" -> [start, end) of that day; ISO -> that instant.
function bound(s, end) {
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const t = Date.parse(`${s}T00:00:00Z`);
    return end ? t + 86400000 : t;
  }
  const t = Date.parse(s);
  return end ? t + 1000 : t;
}

// A date qualifier value -> [from, to) in ms (NaN on garbage).
function range(v) {
  let m;
  if ((m = /^(.+)\.\.(.+)$/.exec(v))) return [m[1] === '*' ? -Infinity : bound(m[1], false), m[2] === '*' ? Infinity : bound(m[2], true)];
  if ((m = /^>=(.+)$/.exec(v))) return [bound(m[1], false), Infinity];
  if ((m = /^>(.+)$/.exec(v))) return [bound(m[1], true), Infinity];
  if ((m = /^<=(.+)$/.exec(v))) return [-Infinity, bound(m[1], true)];
  if ((m = /^<(.+)$/.exec(v))) return [-Infinity, bound(m[1], false)];
  return [bound(v, false), bound(v, true)];
}

export function parseQuery(q) {
  const f = { repo: null, type: null, merged: null, state: null, created: null, mergedAt: null, closed: null,
    updated: null, labels: [], bad: false };
  // qualifiers are separated by blanks; a value may be quoted ("good first issue")
  for (const tok of q.trim().match(/[^\s"]+:"[^"]*"|\S+/g) || []) {
    const i = tok.indexOf(':');
    if (i < 0) { f.bad = true; continue; }
    const k = tok.slice(0, i).toLowerCase();
    let v = tok.slice(i + 1);
    if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
    if (k === 'repo') f.repo = v;
    else if (k === 'is' || k === 'type') {
      if (v === 'pr' || v === 'issue') f.type = v;
      else if (v === 'merged') f.merged = true;
      else if (v === 'unmerged') f.merged = false;
      else if (v === 'open' || v === 'closed') f.state = v;
      else f.bad = true;
    } else if (k === 'state' && (v === 'open' || v === 'closed')) f.state = v;
    else if (k === 'label') f.labels.push(v.split(',').map((x) => x.toLowerCase()));
    else if (k === 'closed') f.closed = range(v);
    else if (k === 'created') f.created = range(v);
    else if (k === 'merged') f.mergedAt = range(v);
    else if (k === 'updated') f.updated = range(v);
    else f.bad = true;
  }
  return f;
}

const within = (r, t) => !r || (t != null && t >= r[0] && t < r[1]);

function matches(f, p, r) {
  if (f.type === 'issue') return false;
  if (f.merged === true && !p.merged) return false;
  if (f.merged === false && p.merged) return false;
  if (f.state === 'open' && p.closed) return false;
  if (f.state === 'closed' && !p.closed) return false;
  if (!within(f.created, p.created)) return false;
  if (f.mergedAt && !(p.merged && within(f.mergedAt, p.merged))) return false;
  if (f.closed && !within(f.closed, p.closed)) return false;
  if (!within(f.updated, p.updated)) return false;
  if (f.labels.length) {
    if (!r.labelNames) r.labelNames = new Map(r.labels.map((l) => [l.id, l.name.toLowerCase()]));
    for (const any of f.labels) if (!p.labels.some((id) => any.includes(r.labelNames.get(id)))) return false;
  }
  return true;
}

function issueObj(d, r, p) {
  const api = `https://api.github.com/repos/${r.full}`;
  const web = `https://github.com/${r.full}`;
  return {
    url: `${api}/issues/${p.number}`, repository_url: api, html_url: `${web}/pull/${p.number}`,
    id: p.id, node_id: Buffer.from(`011:PullRequest${p.id}`).toString('base64'), number: p.number,
    title: p.title, user: d.userObj(p.userId), labels: p.labels.map((id) => d.labelObj(r, id)),
    state: p.closed ? 'closed' : 'open', locked: false, assignee: null, assignees: [], milestone: null,
    comments: p.number % 5, created_at: iso(p.created), updated_at: iso(p.updated),
    closed_at: p.closed ? iso(p.closed) : null, author_association: 'CONTRIBUTOR', draft: p.draft,
    pull_request: { url: `${api}/pulls/${p.number}`, html_url: `${web}/pull/${p.number}`,
      diff_url: `${web}/pull/${p.number}.diff`, patch_url: `${web}/pull/${p.number}.patch`,
      merged_at: p.merged ? iso(p.merged) : null },
    body: `Body of ${p.title}`, score: 1.0,
  };
}

// The k first of v in cmp order, without sorting all of v.
function topK(v, k, cmp) {
  if (v.length <= 4 * k || v.length < 2000) return v.slice().sort(cmp).slice(0, k);
  const top = [];
  for (const x of v) {
    if (top.length === k && cmp(x, top[k - 1]) >= 0) continue;
    if (top.length === k) top.pop();
    top.push(x);
    for (let i = top.length - 1; i > 0 && cmp(top[i], top[i - 1]) < 0; i--) [top[i], top[i - 1]] = [top[i - 1], top[i]];
  }
  return top;
}

// Pages and Link need the listable length; items past the ordered ones are never served.
function padTo(v, n) { const out = v.slice(); out.length = n; return out; }

function search(d, u) {
  const q = u.searchParams.get('q') || '';
  const f = parseQuery(q);
  if (q.length > 256) {	// GitHub's limit on the query text
    return { status: 422, body: { message: 'Validation Failed', errors: [{ message: 'The search is longer than 256 characters.',
      resource: 'Search', field: 'q', code: 'invalid' }] } };
  }
  if (f.bad || !q) {
    return { status: 422, body: { message: 'Validation Failed', errors: [{ resource: 'Search', field: 'q', code: 'invalid' }] } };
  }
  const repos = f.repo ? [d.repos.get(f.repo)].filter(Boolean) : [...d.repos.values()];
  if (f.repo && !repos.length) {
    return { status: 422, body: { message: 'Validation Failed', errors: [{ message: 'The listed users and repositories cannot be searched either because the resources do not exist or you do not have permission to view them.', resource: 'Search', field: 'q', code: 'invalid' }] } };
  }
  const hits = [];
  for (const r of repos) for (const p of r.pulls) if (matches(f, p, r)) hits.push([r, p]);
  const key = u.searchParams.get('sort') === 'updated' ? 'updated' : 'created';
  const asc = u.searchParams.get('order') === 'asc';
  const perPage = Math.min(100, Math.max(1, Number(u.searchParams.get('per_page')) || 30));
  const pageNo = Math.max(1, Number(u.searchParams.get('page')) || 1);
  if ((pageNo - 1) * perPage >= 1000) {
    return { status: 422, body: { message: 'Only the first 1000 search results are available' } };
  }
  const cmp = ([, a], [, b]) => ((a[key] - b[key]) || (a.number - b.number)) * (asc ? 1 : -1);
  // only order what can be listed (total_count queries ask per_page=1)
  const capped = topK(hits, Math.min(1000, perPage * pageNo), cmp);
  const { slice, link } = d.page(u, hits.length > capped.length ? padTo(capped, Math.min(1000, hits.length)) : capped);
  return { body: { total_count: hits.length, incomplete_results: false,
    items: slice.map(([r, p]) => issueObj(d, r, p)) }, link };
}

function hookOf(d, seg) {
  // /orgs/{org}/hooks/{id}/deliveries... or /repos/{o}/{r}/hooks/{id}/deliveries...
  state(d);
  let id, type, target, rest;
  if (seg[0] === 'app' && seg[1] === 'hook') { // a GitHub App's own webhook
    const h = [...d.hooks.values()].find((x) => x.type === 'app');
    return { h: h || null, rest: seg.slice(2) };
  }
  if (seg[0] === 'orgs' && seg[2] === 'hooks') {
    [id, type, target, rest] = [Number(seg[3]), 'organization', seg[1], seg.slice(4)];
  } else if (seg[0] === 'repos' && seg[3] === 'hooks') {
    [id, type, target, rest] = [Number(seg[4]), 'repository', `${seg[1]}/${seg[2]}`, seg.slice(5)];
  } else return null;
  const h = d.hooks.get(id);
  if (!h || h.type !== type || h.target.toLowerCase() !== target.toLowerCase()) return { h: null, rest };
  return { h, rest };
}

export function extraAccepts(method, u) {
  return method === 'POST' && /(\/hooks\/\d+|^\/app\/hook)\/deliveries\/\d+\/attempts$/.test(u.pathname);
}

// {status?, body, link?} or null when the path is not one of ours.
export function extraRoute(d, method, u) {
  const seg = u.pathname.split('/').slice(1).map(decodeURIComponent);
  if (method === 'GET' && u.pathname === '/search/issues') return search(d, u);
  if (method === 'GET' && seg[0] === 'repos' && seg.length === 4 && seg[3] === 'labels') {
    const r = d.repos.get(`${seg[1]}/${seg[2]}`);
    if (!r) return { status: 404, body: { message: 'Not Found' } };
    const { slice, link } = d.page(u, r.labels);
    return { body: slice.map((l) => d.labelObj(r, l.id)), link };
  }
  const m = hookOf(d, seg);
  if (!m || m.rest[0] !== 'deliveries') return null;
  if (!m.h) return { status: 404, body: { message: 'Not Found' } };
  const h = m.h;
  if (method === 'GET' && m.rest.length === 1) {
    const perPage = Math.min(100, Math.max(1, Number(u.searchParams.get('per_page')) || 30));
    const c = /^v1_(\d+)$/.exec(u.searchParams.get('cursor') || '');
    const from = c ? Number(c[1]) : 0;
    const slice = h.deliveries.slice(from, from + perPage);
    let link = '';
    if (from + perPage < h.deliveries.length) {
      const q = new URLSearchParams(u.searchParams);
      q.set('cursor', `v1_${from + perPage}`);
      link = `<${u.origin}${u.pathname}?${q}>; rel="next"`;
    }
    return { body: slice, link };
  }
  if (method === 'POST' && m.rest.length === 3 && m.rest[2] === 'attempts') {
    const del = h.deliveries.find((x) => x.id === Number(m.rest[1]));
    if (!del) return { status: 404, body: { message: 'Not Found' } };
    d.redeliveries.push({ hook_id: h.id, delivery_id: del.id, guid: del.guid });
    addHookDelivery(d, h.id, { guid: del.guid, event: del.event, action: del.action, status_code: 200, redelivery: true });
    return { status: 202, body: {} };
  }
  return null;
}

// Control endpoints; undefined when not ours.
export function extraControl(d, path, args) {
  switch (path) {
    case '/_control/hook': return addHook(d, args);
    case '/_control/hook-delivery': return addHookDelivery(d, args.hook_id, args);
    case '/_control/redeliveries': return state(d).redeliveries;
    default: return undefined;
  }
}
