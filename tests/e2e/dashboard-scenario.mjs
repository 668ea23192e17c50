// The dashboard tests' scenario: a partner org with three ranked teams, PRs
// across month, quarter and year boundaries in partner and open-source
// repositories, a bot and an untracked repository (neither counts), a
// developer in two teams. Loaded through signed webhooks; the expected
// numbers are computed here from the scenario with docs/REFERENCE.md's
// definitions, never read from the program.
import { deliver, makePR, examples } from './webhooks.mjs';
import { avatarUrl } from '../github-double/avatars.mjs';

export const SECRET = 'dashboard-secret';
export const ORG = { login: 'partners-org', id: 9100001 };
const OSS = { login: 'oss-foundation', id: 9100002 };

export const REPOS = {
  platform: { id: 9201, name: 'platform', owner: ORG },
  docs: { id: 9202, name: 'docs', owner: ORG },
  engine: { id: 9203, name: 'engine', owner: OSS },
  untracked: { id: 9204, name: 'untracked', owner: ORG },
};
const full = (r) => `${r.owner.login}/${r.name}`;
export const TRACKED = [REPOS.platform, REPOS.docs, REPOS.engine].map(full);

// The last slug has characters outside [A-Za-z0-9._-] (a team webhook may
// carry any): it must be ranked, and its drill-down and filters must work.
export const ODD_SLUG = 'umbrella co+ü #1?&50%/x';
export const TEAMS = [
  { id: 9301, slug: 'acme', name: 'Acme Corp' },
  { id: 9302, slug: 'globex', name: 'Globex' },
  { id: 9303, slug: 'initech', name: 'Initech' },
  { id: 9304, slug: ODD_SLUG, name: 'Umbrella & Co' },
];

// Avatars are GitHub's (answered in the browser by tests/github-double/avatars.mjs);
// frank's payloads carry a tracking pixel of another host, which the API
// must drop (the dashboard shows its placeholder and never fetches it).
export const TRACKER_AVATAR = 'https://tracker.example/pixel.gif?u=frank';
export const USERS = {
  alice: { id: 9401, login: 'alice', type: 'User', teams: ['acme'] },
  bob: { id: 9402, login: 'bob', type: 'User', teams: ['acme'] },
  carol: { id: 9403, login: 'carol', type: 'User', teams: ['globex'] },
  dave: { id: 9404, login: 'dave', type: 'User', teams: ['globex', 'initech'] },
  erin: { id: 9405, login: 'erin', type: 'User', teams: ['initech'] },
  frank: { id: 9406, login: 'frank', type: 'User', teams: [ODD_SLUG], avatar: TRACKER_AVATAR },
  bot: { id: 9499, login: 'helper-bot[bot]', type: 'Bot', teams: [] },
};
// The avatar the API shows for a user: GitHub's, or none (null).
export const shownAvatar = (u) => (u.avatar ? null : avatarUrl(u.id));

export const LABELS = {
  bug: { id: 9501, name: 'bug', color: 'd73a4a' },
  enhancement: { id: 9502, name: 'enhancement', color: 'a2eeef' },
  docs: { id: 9503, name: 'documentation', color: '0075ca' },
};
// label_points rows (set with SQL, as the contract says); documentation has none.
export const LABEL_POINTS = { bug: 2, enhancement: 1 };
export const MERGED_POINTS = 1;

// [author, repo, created, merged_at | null, closed_at | null, labels]
const RAW = [
  ['alice', 'platform', '2024-01-10T09:00:00Z', '2024-01-15T10:00:00Z', null, ['bug']],
  ['alice', 'engine', '2024-01-20T09:00:00Z', '2024-02-03T10:00:00Z', null, ['enhancement']],
  ['alice', 'docs', '2024-02-05T09:00:00Z', null, '2024-02-10T10:00:00Z', []],
  ['bob', 'platform', '2024-03-30T09:00:00Z', '2024-04-02T10:00:00Z', null, ['bug', 'enhancement']],
  ['bob', 'engine', '2024-04-11T09:00:00Z', null, null, []],
  ['carol', 'platform', '2023-12-20T09:00:00Z', '2024-01-05T10:00:00Z', null, ['docs']],
  ['carol', 'docs', '2024-02-14T09:00:00Z', '2024-02-20T10:00:00Z', null, ['docs', 'bug']],
  ['carol', 'engine', '2024-05-02T09:00:00Z', null, '2024-05-09T10:00:00Z', []],
  ['dave', 'platform', '2024-01-25T09:00:00Z', '2024-01-26T10:00:00Z', null, ['enhancement']],
  ['dave', 'engine', '2024-04-01T09:00:00Z', null, null, []],
  ['erin', 'platform', '2024-02-01T09:00:00Z', '2024-03-01T10:00:00Z', null, ['bug']],
  ['erin', 'docs', '2024-06-15T09:00:00Z', null, '2024-06-16T10:00:00Z', []],
  ['erin', 'engine', '2024-03-05T09:00:00Z', '2024-03-06T10:00:00Z', null, []],
  ['frank', 'platform', '2024-01-18T09:00:00Z', '2024-01-22T10:00:00Z', null, ['enhancement']],
  ['frank', 'engine', '2024-03-12T09:00:00Z', null, null, []],
  ['bot', 'platform', '2024-01-12T09:00:00Z', '2024-01-13T10:00:00Z', null, ['bug']],
  ['alice', 'untracked', '2024-01-11T09:00:00Z', '2024-01-12T10:00:00Z', null, ['bug']],
];

export const PRS = RAW.map(([author, repo, created, merged, closed, labels], i) => ({
  id: 9600 + i, number: 100 + i, author, repo, created_at: created,
  merged_at: merged, closed_at: merged || closed, labels: labels.map((l) => LABELS[l]),
  state: merged || closed ? 'closed' : 'open',
}));

function userObj(u) {
  return { login: u.login, id: u.id, type: u.type, avatar_url: u.avatar || avatarUrl(u.id) };
}

// Teams, memberships, label points, then the PRs, all through /hook (the
// label points and the membership start go through SQL, the documented way
// to set them: a membership learned from a webhook starts when it arrives,
// and these developers were members long before).
export async function loadScenario(stack) {
  const send = async (event, payload) => {
    const r = await deliver(stack, event, payload, { secret: SECRET });
    if (r.status !== 202) throw new Error(`${event} delivery: ${r.status} ${r.text}`);
    return r;
  };
  const orgPayload = (p) => {
    p.organization = { ...(p.organization || {}), login: ORG.login, id: ORG.id };
    return p;
  };
  // Independent deliveries go four at a time; the two snapshots of one PR in order.
  const pool = async (items, fn) => {
    let next = 0;
    const worker = async () => { while (next < items.length) await fn(items[next++]); };
    await Promise.all([1, 2, 3, 4].map(worker));
  };
  await pool(TEAMS, async (t) => {
    const p = orgPayload(examples('team', 'created')[0]);
    p.team = { ...p.team, id: t.id, slug: t.slug, name: t.name, description: `${t.name} partner team` };
    await send('team', p);
  });
  const members = Object.values(USERS).flatMap((u) => u.teams.map((slug) => [u, TEAMS.find((x) => x.slug === slug)]));
  await pool(members, async ([u, t]) => {
    const p = orgPayload(examples('membership', 'added')[0]);
    p.member = { ...p.member, ...userObj(u) };
    p.team = { ...p.team, id: t.id, slug: t.slug, name: t.name };
    await send('membership', p);
  });
  const points = Object.entries(LABEL_POINTS).map(([name, pts]) => `('${LABELS[name].name}', ${pts})`).join(', ');
  await stack.sql(`UPDATE memberships SET started_at = NULL;
    INSERT INTO label_points (label_name, points) VALUES ${points} ON DUPLICATE KEY UPDATE points = VALUES(points)`);
  await pool(PRS, async (pr) => {
    const common = {
      id: pr.id, number: pr.number, title: `Change ${pr.number}`, repo: REPOS[pr.repo],
      user: userObj(USERS[pr.author]), created_at: pr.created_at, labels: pr.labels,
    };
    // The opened snapshot, then the final one (a newer updated_at).
    await send('pull_request', makePR({ ...common, action: 'opened', state: 'open', updated_at: pr.created_at,
      merged_at: null, closed_at: null, merged: false }));
    if (pr.state === 'closed') {
      await send('pull_request', makePR({ ...common, action: 'closed', state: 'closed', updated_at: pr.closed_at,
        merged_at: pr.merged_at, closed_at: pr.closed_at, merged: pr.merged_at !== null }));
    }
  });
}

// ---- expected values, from the scenario and the contract's definitions ----

const day = (iso) => iso.slice(0, 10);
const pad = (n) => String(n).padStart(2, '0');

export function bounds(period, value, from, to) {
  if (period === 'all') return { from: '0000-01-01', to: '9999-12-31' };
  if (period === 'range') return { from, to };
  let y; let m0; let m1; let m;
  if (period === 'month') { [y, m] = value.split('-').map(Number); m0 = m1 = m; }
  else if (period === 'quarter') { y = Number(value.slice(0, 4)); const q = Number(value.slice(6)); m0 = q * 3 - 2; m1 = m0 + 2; }
  else { y = Number(value); m0 = 1; m1 = 12; }
  const last = new Date(Date.UTC(y, m1, 0)).getUTCDate();
  return { from: `${y}-${pad(m0)}-01`, to: `${y}-${pad(m1)}-${pad(last)}` };
}

const counted = () => PRS.filter((p) => USERS[p.author].type !== 'Bot' && TRACKED.includes(full(REPOS[p.repo])));
const inside = (iso, b) => iso !== null && day(iso) >= b.from && day(iso) <= b.to;

function tally(prs, b) {
  const r = { created: 0, merged: 0, rejected: 0, open: 0, partner_created: 0, oss_created: 0, points: 0, labels: {}, authors: new Set() };
  for (const p of prs) {
    const c = inside(p.created_at, b);
    const m = inside(p.merged_at, b);
    const rej = p.merged_at === null && inside(p.closed_at, b);
    if (c) {
      r.created++;
      if (p.state === 'open') r.open++;
      if (REPOS[p.repo].owner.login === ORG.login) r.partner_created++; else r.oss_created++;
    }
    if (m) {
      r.merged++;
      r.points += MERGED_POINTS;
      for (const l of p.labels) {
        const key = Object.keys(LABELS).find((k) => LABELS[k].id === l.id);
        r.points += LABEL_POINTS[key] || 0;
        r.labels[l.name] = (r.labels[l.name] || 0) + 1;
      }
    }
    if (rej) r.rejected++;
    if (c || m || rej) r.authors.add(p.author);
  }
  return r;
}

// The leaderboard of a period: teams with activity, ranked by merged then
// name; totals count each PR and each developer once.
export function leaderboard(b) {
  const prs = counted();
  const teams = TEAMS.map((t) => {
    const mine = prs.filter((p) => USERS[p.author].teams.includes(t.slug));
    const r = tally(mine, b);
    return { slug: t.slug, name: t.name, ...r, members: r.authors.size };
  });
  const active = teams.filter((t) => t.created || t.merged || t.rejected)
    .sort((x, y) => y.merged - x.merged || x.name.localeCompare(y.name));
  active.forEach((t, i) => { t.rank = i + 1; });
  const tot = tally(prs.filter((p) => USERS[p.author].teams.length), b);
  return { teams: active, idle: teams.filter((t) => !active.includes(t)).map((t) => t.slug), totals: { ...tot, members: tot.authors.size } };
}

export function contributors(b, team) {
  const prs = counted().filter((p) => !team || USERS[p.author].teams.includes(team));
  const out = [];
  for (const u of Object.keys(USERS)) {
    const r = tally(prs.filter((p) => p.author === u), b);
    if (r.created || r.merged || r.rejected) {
      out.push({ login: USERS[u].login, teams: USERS[u].teams, created: r.created, merged: r.merged, rejected: r.rejected });
    }
  }
  return out.sort((x, y) => y.merged - x.merged || x.login.localeCompare(y.login));
}

// A team's members with per-repository counts.
export function teamMembers(slug, b) {
  const prs = counted();
  return Object.values(USERS).filter((u) => u.teams.includes(slug)).map((u) => {
    const mine = prs.filter((p) => p.author === u.login);
    const repos = {};
    for (const key of new Set(mine.map((p) => p.repo))) {
      const r = tally(mine.filter((p) => p.repo === key), b);
      if (r.created || r.merged || r.rejected) repos[full(REPOS[key])] = { created: r.created, merged: r.merged, rejected: r.rejected };
    }
    const t = tally(mine, b);
    return { login: u.login, created: t.created, merged: t.merged, rejected: t.rejected, repos };
  });
}

// /api/periods: every month, quarter and year from the first counted PR up
// to the current month (UTC), newest first.
export function periods(now) {
  const first = counted().map((p) => p.created_at.slice(0, 7)).sort()[0];
  const months = [];
  let y = now.getUTCFullYear();
  let m = now.getUTCMonth() + 1;
  for (; `${y}-${pad(m)}` >= first; m === 1 ? (y--, m = 12) : m--) months.push(`${y}-${pad(m)}`);
  const uniq = (a) => [...new Set(a)];
  return {
    months,
    quarters: uniq(months.map((x) => `${x.slice(0, 4)}-Q${Math.ceil(Number(x.slice(5)) / 3)}`)),
    years: uniq(months.map((x) => x.slice(0, 4))),
  };
}

// Monthly statistics of a year (every counted PR, or one team's).
export function monthly(year, team) {
  const prs = counted().filter((p) => !team || USERS[p.author].teams.includes(team));
  const months = Array.from({ length: 12 }, (_, i) => `${year}-${pad(i + 1)}`);
  const first = {};
  for (const p of [...prs].sort((a, c) => a.created_at.localeCompare(c.created_at))) {
    if (!(p.author in first)) first[p.author] = p.created_at.slice(0, 7);
  }
  const rows = { processed: {}, merged: {}, rejected: {}, created: {}, outstanding: {}, acceptance_rate: {}, contributors: {}, new_contributors: {} };
  const yearAuthors = new Set();
  for (const m of months) {
    const b = bounds('month', m);
    const r = tally(prs, b);
    const created = prs.filter((p) => inside(p.created_at, b));
    rows.merged[m] = r.merged;
    rows.rejected[m] = r.rejected;
    rows.processed[m] = r.merged + r.rejected;
    rows.created[m] = r.created;
    rows.outstanding[m] = prs.filter((p) => day(p.created_at) <= b.to && (p.closed_at === null || day(p.closed_at) > b.to)).length;
    rows.acceptance_rate[m] = rows.processed[m] ? Math.round((100 * r.merged) / rows.processed[m]) : null;
    const authors = new Set(created.map((p) => p.author));
    authors.forEach((a) => yearAuthors.add(a));
    rows.contributors[m] = authors.size;
    rows.new_contributors[m] = [...authors].filter((a) => first[a] === m).length;
  }
  const sum = (k) => months.reduce((s, m) => s + rows[k][m], 0);
  for (const k of ['processed', 'merged', 'rejected', 'created', 'new_contributors']) rows[k].total = sum(k);
  rows.outstanding.total = rows.outstanding[months[11]];
  rows.acceptance_rate.total = rows.processed.total ? Math.round((100 * rows.merged.total) / rows.processed.total) : null;
  rows.contributors.total = yearAuthors.size;
  return { months, rows };
}
