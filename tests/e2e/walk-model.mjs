// What a PR walk should leave behind, for the sync tests that check the
// statistics themselves: the double's pages as GitHub serves them (fetched
// by the test) and api-model.mjs's numbers for a set of those PRs.
import assert from 'node:assert/strict';
import { Model, period } from './api-model.mjs';

// The walk of repo as the double serves it, page by page (PR objects).
export async function pages(dbl, token, repo) {
  const out = [];
  for (let url = `/repos/${repo}/pulls?state=all&sort=updated&direction=desc&per_page=100`; url;) {
    const r = await fetch(dbl.url + url, { headers: { authorization: `token ${token}` } });
    assert.equal(r.status, 200);
    out.push(await r.json());
    const next = /<([^>]*)>; rel="next"/.exec(r.headers.get('link') || '');
    url = next ? next[1].replace(/^https?:\/\/[^/]*/, '') : null;
  }
  return out;
}

// The statistics of the PRs in prs (GitHub objects of tracked repositories
// owned by acme, authors in no team), as api-model.mjs says.
export function model(prs, tracked) {
  const users = new Map();
  for (const p of prs) users.set(p.user.id, { id: p.user.id, login: p.user.login, type: p.user.type,
    avatar_url: p.user.avatar_url });
  return new Model({ partnerOrg: 'acme', tracked, exclude: [], mergedPoints: 1, teams: [],
    users: [...users.values()], intervals: [], labelPoints: {}, labelColors: {}, now: new Date(),
    prs: prs.map((p) => ({ ...p, repo: { ...p.base.repo, owner: { login: 'acme' } } })) });
}

// The stack's monthly statistics of 2023 and 2024 and its contributors of
// three periods are the model's.
export async function assertStats(s, m, label) {
  for (const y of [2023, 2024]) {
    const r = await s.get(`/api/stats/monthly?year=${y}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, m.monthly(y), `${label}: monthly ${y}`);
  }
  for (const P of [period('all'), period('month', '2024-02'), period('year', '2023')]) {
    const q = P.kind === 'all' ? 'period=all' : `period=${P.kind}&value=${P.value}`;
    const r = await s.get(`/api/contributors?${q}`);
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, m.contributors(P), `${label}: contributors ${q}`);
  }
}
