// The database of a stack holds exactly what a GitHub double serves: every PR
// (repo, number, author, state, merged, times), label sets, teams, open
// memberships and users. The double's snapshot is the expected world.
import assert from 'node:assert/strict';

const N = (v) => (v === 'NULL' ? null : v);
const isoSql = (col) => `DATE_FORMAT(${col}, '%Y-%m-%dT%H:%i:%sZ')`;

export async function assertDbMatches(stack, dbl) {
  const snap = dbl.snapshot();
  const want = snap.pulls.slice().sort((a, b) => a.id - b.id);
  const rows = await stack.sql(`SELECT p.id, r.full_name, p.number, p.author_id, p.state, p.merged,
    ${isoSql('p.created_at')}, ${isoSql('p.updated_at')}, ${isoSql('p.closed_at')}, ${isoSql('p.merged_at')}
    FROM pull_requests p JOIN repositories r ON r.id = p.repo_id ORDER BY p.id`);
  assert.equal(rows.length, want.length, 'number of pull requests');
  rows.forEach((row, i) => {
    const w = want[i];
    assert.deepEqual(row.map(N), [String(w.id), w.repo, String(w.number), String(w.author_id), w.state,
      String(w.merged), w.created_at, w.updated_at, w.closed_at, w.merged_at], `PR ${w.repo}#${w.number}`);
  });
  const labels = await stack.sql(`SELECT pr_id, GROUP_CONCAT(label_id ORDER BY label_id) FROM pr_labels
    GROUP BY pr_id ORDER BY pr_id`);
  const wantLabels = want.filter((p) => p.labels.length).map((p) => [String(p.id), p.labels.join(',')]);
  assert.deepEqual(labels, wantLabels, 'label sets');

  const teams = await stack.sql('SELECT id, slug, name FROM teams WHERE deleted_at IS NULL ORDER BY id');
  assert.deepEqual(teams, snap.teams.map((t) => [String(t.id), t.slug, t.name]));
  const open = await stack.sql(`SELECT team_id, user_id FROM memberships WHERE ended_at IS NULL
    ORDER BY team_id, user_id`);
  assert.deepEqual(open, snap.teams.flatMap((t) => t.members.map((u) => [String(t.id), String(u)])));
  const users = await stack.sql('SELECT id, login, type FROM users ORDER BY id');
  const ids = new Set([...snap.pulls.map((p) => p.author_id), ...snap.teams.flatMap((t) => t.members)]);
  assert.deepEqual(users, [...ids].sort((a, b) => a - b).map((id) => {
    const u = dbl.users.get(id);
    return [String(id), u.login, u.type];
  }));
}

