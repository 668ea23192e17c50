// An independent model of docs/REFERENCE.md "Statistics: definitions"
// (and docs/STATS.md for what the contract leaves open), computed from a
// scenario definition in plain JS. The API tests compare every field of
// every route with it; nothing here reads the program's output.
//
// scenario = {
//   partnerOrg, tracked: ['owner/name'...], exclude: ['slug'...], mergedPoints,
//   teams: [{id, slug, name, deleted}], users: [{id, login, type, avatar_url}] (avatar_url
//   on GitHub's avatar host: others are null in the API, api-hostile.test.mjs),
//   intervals: [{team, user, start, end}]   (ISO or null; [start, end))
//   prs: [final snapshot: {id, number, repo: {id, name, owner}, user, state, merged,
//         created_at, merged_at, closed_at, labels: [{id, name, color}]}],
//   labelPoints: {name: points}, labelColors: {name: color}, now: Date
// }
const ms = (iso) => (iso == null ? null : Date.parse(iso));
const cmpStr = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

function pad(n, w = 2) { return String(n).padStart(w, '0'); }
function dayAfter(d) { const t = new Date(`${d}T00:00:00Z`); t.setUTCDate(t.getUTCDate() + 1); return t; }
function lastDay(y, m) { return new Date(Date.UTC(y, m, 0)).getUTCDate(); }

// period -> {kind, value, from, to, a, b} (a, b: ms, [a, b); null for all)
export function period(kind, value, from, to) {
  if (!kind || kind === 'all') return { kind: 'all', value: null, from: null, to: null, a: -Infinity, b: Infinity };
  let f, t;
  if (kind === 'year') { f = `${value}-01-01`; t = `${value}-12-31`; }
  if (kind === 'quarter') {
    const [y, q] = [Number(value.slice(0, 4)), Number(value.slice(6))];
    const m0 = (q - 1) * 3 + 1;
    f = `${y}-${pad(m0)}-01`; t = `${y}-${pad(m0 + 2)}-${lastDay(y, m0 + 2)}`;
  }
  if (kind === 'month') {
    const [y, m] = [Number(value.slice(0, 4)), Number(value.slice(5))];
    f = `${value}-01`; t = `${value}-${lastDay(y, m)}`;
  }
  if (kind === 'range') { f = from; t = to; value = null; }
  return { kind, value, from: f, to: t, a: Date.parse(`${f}T00:00:00Z`), b: dayAfter(t).getTime() };
}

export class Model {
  constructor(sc) {
    this.sc = sc;
    const tracked = new Set(sc.tracked.map((x) => x.toLowerCase()));
    const exclude = new Set(sc.exclude.map((x) => x.toLowerCase()));
    this.users = new Map(sc.users.map((u) => [u.id, u]));
    this.teams = new Map(sc.teams.map((t) => [t.id, t]));
    this.excludedIds = new Set(sc.teams.filter((t) => exclude.has(t.slug.toLowerCase())).map((t) => t.id));
    this.ranked = sc.teams.filter((t) => !t.deleted && !this.excludedIds.has(t.id));
    const inAt = (iv, at) => (iv.start == null || ms(iv.start) <= at) && (iv.end == null || ms(iv.end) > at);
    this.inAt = inAt;
    this.prs = [];
    for (const p of sc.prs) {
      const full = `${p.repo.owner.login}/${p.repo.name}`;
      const user = this.users.get(p.user.id) || p.user;
      if (!tracked.has(full.toLowerCase()) || user.type === 'Bot') continue;
      const c = ms(p.created_at);
      const ivs = sc.intervals.filter((iv) => iv.user === p.user.id && inAt(iv, c));
      const excluded = ivs.some((iv) => this.excludedIds.has(iv.team));
      const teams = excluded ? [] : [...new Set(ivs.map((iv) => iv.team))]
        .filter((id) => this.ranked.some((t) => t.id === id));
      const merged = p.merged === true || (p.merged === undefined && p.merged_at != null);
      this.prs.push({
        number: p.number, title: p.title, login: user.login, state: p.state, mergedFlag: merged,
        created_at: p.created_at, merged_at: merged ? p.merged_at : null, closed_at: p.closed_at ?? null,
        labelObjs: p.labels, ivs: ivs.filter((iv) => teams.includes(iv.team)),
        id: p.id, author: p.user.id, repo: full, partner: p.repo.owner.login.toLowerCase() === sc.partnerOrg.toLowerCase(),
        created: c, merged: merged && p.merged_at ? ms(p.merged_at) : null,
        rejected: p.state === 'closed' && !merged && p.closed_at ? ms(p.closed_at) : null,
        open: p.state === 'open', labels: [...new Set(p.labels.map((l) => l.name))], teams,
      });
    }
  }

  // The PRs behind one number (/api/prs): scope {team} (a ranked team's
  // slug), {partner: true} (the leaderboard's totals) or {} (every counted
  // PR), optionally one author's (login); newest event first, ties by id.
  prsBehind({ team, partner, author } = {}, P, metric) {
    const inP = (t) => t != null && t >= P.a && t < P.b;
    const t = team ? this.ranked.find((x) => x.slug === team) : null;
    let prs = t ? this.prs.filter((p) => p.teams.includes(t.id))
      : partner ? this.prs.filter((p) => p.teams.length > 0) : this.prs;
    if (author) prs = prs.filter((p) => this.users.get(p.author).login === author);
    const closed = (p) => p.merged ?? p.rejected;
    const rule = {
      created: [(p) => inP(p.created), (p) => p.created],
      open: [(p) => inP(p.created) && p.open, (p) => p.created],
      partner_created: [(p) => inP(p.created) && p.partner, (p) => p.created],
      oss_created: [(p) => inP(p.created) && !p.partner, (p) => p.created],
      merged: [(p) => inP(p.merged), (p) => p.merged],
      points: [(p) => inP(p.merged), (p) => p.merged],
      rejected: [(p) => inP(p.rejected), (p) => p.rejected],
      processed: [(p) => inP(p.merged) || inP(p.rejected), (p) => closed(p)],
      outstanding: [(p) => p.created < P.b && !(closed(p) != null && closed(p) < P.b), (p) => p.created],
    }[metric];
    return prs.filter(rule[0]).sort((x, y) => rule[1](y) - rule[1](x) || y.id - x.id)
      .map((p) => ({ ...p, why: (t ? p.ivs.filter((iv) => iv.team === t.id) : p.ivs) }));
  }

  // Why a PR counts for no ranked team (/api/prs/{owner}/{repo}/{number}
  // "reasons"), from the scenario alone: codes in the order the API lists them.
  reasons(id, P) {
    const p = this.sc.prs.find((x) => x.id === id);
    const user = this.users.get(p.user.id) || p.user;
    const full = `${p.repo.owner.login}/${p.repo.name}`.toLowerCase();
    const tracked = this.sc.tracked.some((x) => x.toLowerCase() === full);
    const c = ms(p.created_at);
    const counted = this.prs.find((x) => x.id === id);
    const out = [];
    if (!counted || counted.teams.length === 0) {
      if (user.type === 'Bot') out.push('bot');
      if (!tracked) out.push('untracked_repository');
      const ivs = this.sc.intervals.filter((iv) => iv.user === p.user.id && this.inAt(iv, c));
      if (ivs.some((iv) => this.excludedIds.has(iv.team))) out.push('excluded_team');
      else if (!ivs.some((iv) => this.ranked.some((t) => t.id === iv.team))) out.push('not_member_when_created');
    }
    if (P && !(c >= P.a && c < P.b)) out.push('created_outside_period');
    return out;
  }

  // counters of a set of PRs in period P
  counts(prs, P) {
    const inP = (t) => t != null && t >= P.a && t < P.b;
    const r = { members: 0, created: 0, merged: 0, rejected: 0, open: 0, partner_created: 0, oss_created: 0, points: 0, labels: [] };
    const authors = new Set();
    const labels = new Map();
    for (const p of prs) {
      const c = inP(p.created), m = inP(p.merged), j = inP(p.rejected);
      if (c) { r.created++; if (p.open) r.open++; if (p.partner) r.partner_created++; else r.oss_created++; }
      if (m) { r.merged++; for (const l of p.labels) labels.set(l, (labels.get(l) || 0) + 1); }
      if (j) r.rejected++;
      if (c || m || j) authors.add(p.author);
    }
    r.members = authors.size;
    r.points = r.merged * this.sc.mergedPoints;
    for (const [name, n] of labels) r.points += n * (this.sc.labelPoints[name] || 0);
    r.labels = [...labels].map(([name, count]) => ({ name, color: this.sc.labelColors[name] ?? null, count }))
      .sort((x, y) => y.count - x.count || cmpStr(x.name, y.name));
    return r;
  }

  board(P, sort = 'merged') {
    const rows = this.ranked.map((t) => {
      const c = this.counts(this.prs.filter((p) => p.teams.includes(t.id)), P);
      return { rank: 0, id: t.id, slug: t.slug, name: t.name, members: c.members, created: c.created,
        merged: c.merged, rejected: c.rejected, open: c.open, partner_created: c.partner_created,
        oss_created: c.oss_created, points: c.points, labels: c.labels };
    });
    rows.sort((x, y) => y[sort] - x[sort] || cmpStr(x.name, y.name) || x.id - y.id);
    rows.forEach((r, i) => { r.rank = i + 1; });
    const t = this.counts(this.prs.filter((p) => p.teams.length > 0), P);
    const totals = { teams: rows.length, members: t.members, created: t.created, merged: t.merged,
      rejected: t.rejected, open: t.open, partner_created: t.partner_created, oss_created: t.oss_created, points: t.points };
    return { period: { kind: P.kind, value: P.value, from: P.from, to: P.to }, totals, teams: rows };
  }

  authorRows(prs, P) {
    const inP = (t) => t != null && t >= P.a && t < P.b;
    const by = new Map();
    for (const p of prs) {
      const c = inP(p.created), m = inP(p.merged), j = inP(p.rejected);
      if (!(c || m || j)) continue;
      const u = this.users.get(p.author);
      const row = by.get(p.author) || { id: p.author, login: u.login, avatar_url: u.avatar_url ?? null,
        created: 0, merged: 0, rejected: 0, repos: new Map() };
      const rr = row.repos.get(p.repo) || { repo: p.repo, created: 0, merged: 0, rejected: 0 };
      if (c) { row.created++; rr.created++; }
      if (m) { row.merged++; rr.merged++; }
      if (j) { row.rejected++; rr.rejected++; }
      row.repos.set(p.repo, rr);
      by.set(p.author, row);
    }
    return [...by.values()];
  }

  static link(login, repo, P, state, qual) {
    let q = `is:pr author:${login} repo:${repo}${state}`;
    if (P.from) q += ` ${qual}:${P.from}..${P.to}`;
    return `https://github.com/search?${new URLSearchParams({ q, type: 'pullrequests' })}`;
  }

  team(slug, P, sort = 'merged') {
    const b = this.board(P, sort);
    const row = b.teams.find((t) => t.slug === slug);
    if (!row) return null;
    const key = sort === 'points' ? 'merged' : sort;
    const members = this.authorRows(this.prs.filter((p) => p.teams.includes(row.id)), P)
      .sort((x, y) => y[key] - x[key] || cmpStr(x.login, y.login) || x.id - y.id)
      .map((m) => ({ id: m.id, login: m.login, avatar_url: m.avatar_url, created: m.created,
        merged: m.merged, rejected: m.rejected,
        repos: [...m.repos.values()].sort((x, y) => cmpStr(x.repo, y.repo)).map((r) => ({
          ...r, links: {
            created: Model.link(m.login, r.repo, P, '', 'created'),
            merged: Model.link(m.login, r.repo, P, ' is:merged', 'merged'),
            rejected: Model.link(m.login, r.repo, P, ' is:closed is:unmerged', 'closed'),
          } })) }));
    const { members: _n, ...rest } = row;
    return { period: b.period, ...rest, members };
  }

  currentTeams(user) {
    const now = this.sc.now.getTime();
    return [...new Set(this.sc.intervals.filter((iv) => iv.user === user && this.inAt(iv, now))
      .map((iv) => iv.team))].filter((id) => this.ranked.some((t) => t.id === id))
      .map((id) => this.teams.get(id).slug).sort(cmpStr);
  }

  contributors(P, { team, sort = 'merged', limit = 100 } = {}) {
    const t = team ? this.ranked.find((x) => x.slug === team) : null;
    const prs = t ? this.prs.filter((p) => p.teams.includes(t.id)) : this.prs;
    const rows = this.authorRows(prs, P)
      .sort((x, y) => y[sort] - x[sort] || cmpStr(x.login, y.login) || x.id - y.id)
      .slice(0, limit)
      .map((r, i) => ({ rank: i + 1, id: r.id, login: r.login, avatar_url: r.avatar_url,
        teams: this.currentTeams(r.id), created: r.created, merged: r.merged, rejected: r.rejected }));
    return { period: { kind: P.kind, value: P.value, from: P.from, to: P.to }, contributors: rows };
  }

  monthly(year, team) {
    const t = team ? this.ranked.find((x) => x.slug === team) : null;
    const prs = t ? this.prs.filter((p) => p.teams.includes(t.id)) : this.prs;
    const months = Array.from({ length: 12 }, (_, i) => `${year}-${pad(i + 1)}`);
    const names = ['processed', 'merged', 'rejected', 'created', 'outstanding', 'acceptance_rate', 'contributors', 'new_contributors'];
    const rows = Object.fromEntries(names.map((n) => [n, {}]));
    const first = new Map();
    for (const p of prs) if (!first.has(p.author) || p.created < first.get(p.author)) first.set(p.author, p.created);
    const yearP = period('year', String(year));
    const yearAuthors = new Set();
    let sum = { merged: 0, rejected: 0, created: 0, new: 0 };
    for (const m of months) {
      const P = period('month', m);
      const inP = (x) => x != null && x >= P.a && x < P.b;
      const merged = prs.filter((p) => inP(p.merged)).length;
      const rejected = prs.filter((p) => inP(p.rejected)).length;
      const created = prs.filter((p) => inP(p.created)).length;
      const outstanding = prs.filter((p) => p.created < P.b && !((p.merged ?? p.rejected) != null && (p.merged ?? p.rejected) < P.b)).length;
      const authors = new Set(prs.filter((p) => inP(p.created)).map((p) => p.author));
      authors.forEach((a) => yearAuthors.add(a));
      const nc = [...first.values()].filter(inP).length;
      const processed = merged + rejected;
      Object.assign(sum, { merged: sum.merged + merged, rejected: sum.rejected + rejected, created: sum.created + created, new: sum.new + nc });
      rows.processed[m] = processed; rows.merged[m] = merged; rows.rejected[m] = rejected; rows.created[m] = created;
      rows.outstanding[m] = outstanding;
      rows.acceptance_rate[m] = processed ? Math.floor((100 * merged) / processed + 0.5) : null;
      rows.contributors[m] = authors.size; rows.new_contributors[m] = nc;
    }
    const processed = sum.merged + sum.rejected;
    rows.processed.total = processed; rows.merged.total = sum.merged; rows.rejected.total = sum.rejected;
    rows.created.total = sum.created; rows.outstanding.total = rows.outstanding[months[11]];
    rows.acceptance_rate.total = processed ? Math.floor((100 * sum.merged) / processed + 0.5) : null;
    rows.contributors.total = yearAuthors.size; rows.new_contributors.total = sum.new;
    void yearP;
    return { year, months, rows };
  }

  periods() {
    const now = this.sc.now;
    let [y1, m1] = [now.getUTCFullYear(), now.getUTCMonth() + 1];
    let first = Math.min(...this.prs.map((p) => p.created));
    const d = Number.isFinite(first) ? new Date(first) : now;
    const [y0, m0] = [d.getUTCFullYear(), d.getUTCMonth() + 1];
    const months = [], quarters = [], years = [];
    for (let y = y1, m = m1; y > y0 || (y === y0 && m >= m0); m === 1 ? (m = 12, y--) : m--) months.push(`${y}-${pad(m)}`);
    for (let y = y1, q = Math.floor((m1 - 1) / 3) + 1; y > y0 || (y === y0 && q >= Math.floor((m0 - 1) / 3) + 1); q === 1 ? (q = 4, y--) : q--) quarters.push(`${y}-Q${q}`);
    for (let y = y1; y >= y0; y--) years.push(String(y));
    return { months, quarters, years };
  }
}

// RFC 4180 parser (CRLF records, quoted fields with "" escapes).
export function parseCSV(text) {
  const rows = [];
  let row = [], f = '', i = 0, q = false;
  while (i < text.length) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { f += '"'; i += 2; continue; }
      if (c === '"') { q = false; i++; continue; }
      f += c; i++; continue;
    }
    if (c === '"') { q = true; i++; continue; }
    if (c === ',') { row.push(f); f = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(f); rows.push(row); row = []; f = ''; i += 2; continue; }
    f += c; i++;
  }
  if (f !== '' || row.length) { row.push(f); rows.push(row); }
  return rows;
}
