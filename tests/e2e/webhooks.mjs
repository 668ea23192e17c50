// Reusable webhook helpers for end-to-end tests and benchmarks: load GitHub's
// example payloads (@octokit/webhooks-examples), sign them like GitHub
// (X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256 of the raw body), and
// POST them to a stack's /hook as JSON or form-encoded, with delivery ids.
//
//   import { examples, deliver, deliverAll, makePR } from './webhooks.mjs';
//
//   examples('pull_request', 'opened')   -> [payload, ...]  (fresh deep copies)
//   allExamples(['team', 'ping'])        -> [{event, action, payload}, ...]
//   makePR({id, number, repo, user, created_at, updated_at, state, merged_at,
//           closed_at, labels, draft, ...})
//                                        -> a pull_request event payload built
//                                           on the real example, with your fields
//   sign(secret, body)                   -> 'sha256=<hex>' (body: string|Buffer)
//   deliveryId()                         -> a fresh GUID like GitHub's
//   await deliver(stackOrUrl, event, payload, {
//       secret,        // sign with it (omit: no X-Hub-Signature-256 header)
//       id,            // X-GitHub-Delivery (default: deliveryId())
//       form,          // true: application/x-www-form-urlencoded payload=...
//       hookId,        // X-GitHub-Hook-ID
//       body,          // raw body to send instead of JSON.stringify(payload)
//       signature,     // header value to send instead of sign(secret, body)
//       headers,       // extra/overriding headers (null value removes one)
//   }) -> {status, json, text, id}
//   await deliverAll(stack, [{event, payload, ...opts}], {secret, concurrency})
//                                        -> results in input order
//   acme.ORG, acme.REPO (acme/core), acme.TEAM (alpha), acme.user(id, login)
//                                        -> a small world for receiver tests
//   isoSecond(ms)                        -> '2024-03-01T10:00:00Z' (GitHub's form)
//
// stackOrUrl is a harness Stack (anything with .url) or a base URL string.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let index;

function loadIndex() {
  if (!index) index = require('@octokit/webhooks-examples/api.github.com/index.json');
  return index;
}

const clone = (o) => JSON.parse(JSON.stringify(o));

export function examples(event, action) {
  const e = loadIndex().find((x) => x.name === event);
  if (!e) throw new Error(`no examples for event '${event}'`);
  return e.examples.filter((p) => action === undefined || p.action === action).map(clone);
}

export function allExamples(events) {
  const out = [];
  for (const e of loadIndex()) {
    if (events && !events.includes(e.name)) continue;
    for (const p of e.examples) out.push({ event: e.name, action: p.action, payload: clone(p) });
  }
  return out;
}

export function sign(secret, body) {
  return 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
}

export function deliveryId() {
  return crypto.randomUUID();
}

// A pull_request payload with the given PR fields, on top of the first
// 'opened' example. Times are ISO strings ("2024-03-01T10:00:00Z").
// repo: {id, name, owner: {login, id}} (full_name derived); user: {id, login, type}.
// labels: [{id, name, color}].
export function makePR(f = {}) {
  const p = examples('pull_request', f.action || 'opened')[0];
  const pr = p.pull_request;
  if (f.action) p.action = f.action;
  for (const k of ['id', 'number', 'title', 'state', 'draft', 'merged', 'created_at',
    'updated_at', 'closed_at', 'merged_at', 'additions', 'deletions', 'changed_files',
    'commits', 'comments', 'review_comments']) {
    if (f[k] !== undefined) pr[k] = f[k];
  }
  if (f.merged === undefined && f.merged_at !== undefined) pr.merged = f.merged_at !== null;
  if (f.labels) pr.labels = clone(f.labels);
  if (f.user) pr.user = { ...pr.user, ...f.user };
  if (f.repo) {
    const owner = { ...pr.base.repo.owner, ...(f.repo.owner || {}) };
    const repo = { ...pr.base.repo, ...f.repo, owner };
    repo.full_name = `${owner.login}/${repo.name}`;
    pr.base.repo = repo;
    p.repository = clone(repo);
  }
  if (f.number !== undefined) pr.html_url = `https://github.com/${pr.base.repo.full_name}/pull/${f.number}`;
  return p;
}

function baseUrl(s) {
  return typeof s === 'string' ? s : s.url;
}

export async function deliver(stack, event, payload, opts = {}) {
  const id = opts.id || deliveryId();
  let json = opts.body !== undefined ? opts.body : JSON.stringify(payload);
  let body = json, ctype = 'application/json';
  if (opts.form) {
    body = 'payload=' + encodeURIComponent(json);
    ctype = 'application/x-www-form-urlencoded';
  }
  const headers = {
    'Content-Type': ctype,
    'User-Agent': 'GitHub-Hookshot/test',
    'X-GitHub-Event': event,
    'X-GitHub-Delivery': id,
  };
  if (opts.hookId !== undefined) headers['X-GitHub-Hook-ID'] = String(opts.hookId);
  const sig = opts.signature !== undefined ? opts.signature
    : opts.secret !== undefined ? sign(opts.secret, body) : undefined;
  if (sig !== undefined) headers['X-Hub-Signature-256'] = sig;
  for (const [k, v] of Object.entries(opts.headers || {})) {
    for (const h of Object.keys(headers)) if (h.toLowerCase() === k.toLowerCase()) delete headers[h];
    if (v !== null && v !== undefined) headers[k] = v;
  }
  const res = await fetch(baseUrl(stack) + (opts.path || '/hook'),
    { method: opts.method || 'POST', headers, body: opts.method === 'GET' ? undefined : body });
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  return { status: res.status, json: parsed, text, id };
}

export async function deliverAll(stack, list, { secret, concurrency = 1 } = {}) {
  const results = new Array(list.length);
  let next = 0;
  async function worker() {
    while (next < list.length) {
      const i = next++;
      const { event, payload, ...o } = list[i];
      results[i] = await deliver(stack, event, payload, { secret, ...o });
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  return results;
}

// A small world for receiver tests (the objects as a payload carries them).
export const acme = {
  ORG: { id: 9001, login: 'acme' },
  REPO: { id: 501, name: 'core', owner: { login: 'acme', id: 9001 } },
  TEAM: { id: 10, slug: 'alpha', name: 'Alpha Co' },
  user: (id, login) => ({ id, login, type: 'User', avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4` }),
};

export const isoSecond = (t) => new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
