// Live writes of bench/30-api: signed pull_request deliveries through /hook
// at a steady rate while wrk measures the API, as a live org produces them:
// new PRs created now (the current month) by partner members in tracked
// partner repositories, and merges of PRs it opened a few seconds before.
// Authors and repositories are sent exactly as the bulk load stored them,
// so only PRs change (no user or repository row is rewritten).
//
//   node bench/30-api-feed.mjs URL SECRET RATE USERS STOPFILE
// Runs until STOPFILE exists, then prints
//   FEED sent=N accepted=N opened=N merged=N first_id=N last_id=N
import fs from 'node:fs';
import { deliver, makePR } from '../tests/e2e/webhooks.mjs';

const [url, secret, rateS, usersS, stop] = process.argv.slice(2);
const rate = Number(rateS), users = Number(usersS);
const FIRST = 100000000;	// far above the bulk-loaded PR ids
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
let sent = 0, accepted = 0, opened = 0, merged = 0, next = FIRST;
const open = [];

function author(n) {
  let u = 1 + ((n * 7919) % users);
  if (u % 1000 === 0) u++;	// every 1000th bulk user is a bot
  if (u > users) u = 1;
  return { id: u, login: `user${u}`, type: 'User', avatar_url: `https://avatars.githubusercontent.com/u/${u}?v=4` };
}
function repo(n) {
  const r = 1 + (n % 40);	// acme/r1..r40: tracked, partner-owned
  return { id: r, name: `r${r}`, private: false, owner: { login: 'acme', id: 9001 } };
}

async function one() {
  const now = new Date();
  let p;
  if (open.length > 0 && sent % 2 === 1) {
    const o = open.shift();
    p = makePR({ ...o, action: 'closed', state: 'closed', merged: true, merged_at: iso(now),
      closed_at: iso(now), updated_at: iso(now) });
    merged++;
  } else {
    const id = next++;
    const o = { id, number: id, repo: repo(id), user: author(id), created_at: iso(now), labels: [], title: `live ${id}` };
    p = makePR({ ...o, action: 'opened', state: 'open', updated_at: iso(now), merged_at: null, closed_at: null, merged: false });
    open.push(o);
    opened++;
  }
  sent++;
  const r = await deliver(url, 'pull_request', p, { secret });
  if (r.status === 202) accepted++;
  else process.stderr.write(`feed: ${r.status} ${r.text}\n`);
}

const t0 = Date.now();
while (!fs.existsSync(stop)) {
  await one();
  const due = t0 + (sent * 1000) / rate;
  const wait = due - Date.now();
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
}
console.log(`FEED sent=${sent} accepted=${accepted} opened=${opened} merged=${merged} first_id=${FIRST} last_id=${next - 1} seconds=${((Date.now() - t0) / 1000).toFixed(1)}`);
