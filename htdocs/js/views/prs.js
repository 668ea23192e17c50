// Every number explains itself: the counts in the leaderboard, the team
// drill-down, the contributors and the monthly table become buttons that
// open the list of PRs behind them (/api/prs, GitHub links, CSV), and each
// PR opens its story (/api/prs/{owner}/{repo}/{number}): for whom it
// counts, through which membership, or why not, and what changed it.
//
// It works on the rendered views (their data-col / data-month / data-team
// attributes), so the views themselves stay as they are: a MutationObserver
// turns new number cells into buttons.
import { h, icon, replace } from '../dom.js';
import { getJSON, periodParams, query } from '../api.js';
import { num, periodLabel, labelColor, labelText } from '../format.js';
import { errorBox, emptyBox } from '../components.js';

const METRIC_LABELS = {
  created: 'Created', merged: 'Merged', rejected: 'Rejected', open: 'Still open', points: 'Merged (points)',
  partner_created: 'Created in partner repositories', oss_created: 'Created in open-source repositories',
  processed: 'Processed (merged + rejected)', outstanding: 'Outstanding (open at the end)',
};
const REASONS = {
  bot: 'Author is a bot', untracked_repository: 'Repository not tracked', excluded_team: 'Author was in an excluded team',
  not_member_when_created: 'Author was in no ranked team when it was created', created_outside_period: 'Created outside the period',
  team_deleted: 'Team deleted', team_excluded: 'Team excluded from the ranking',
};

const day = (iso) => (iso ? iso.slice(0, 10) : '');
const interval = (m) => `${m.from ? `from ${day(m.from)}` : 'since always'}${m.to ? ` to ${day(m.to)}` : ''}`;

let dialog = null;
let body = null;
let opener = null;
let ctrl = null;
let getCtx = () => null;

function ensureDialog() {
  if (dialog) return;
  body = h('div', { class: 'drawer__inner', id: 'prs-dialog-body' });
  dialog = h('dialog', { class: 'drawer drawer--prs', id: 'prs-dialog', 'aria-labelledby': 'prs-dialog-title' }, body);
  document.body.append(dialog);
  dialog.addEventListener('close', () => {
    // 'close' is a queued event: the dialog may have been opened again
    // (Esc, then at once Space on the number) before it arrives; it must
    // not cancel the new list then
    if (dialog.open) return;
    if (ctrl) ctrl.abort();
    const back = opener && opener.isConnected ? opener : null;
    opener = null;
    if (back) back.focus();
  });
  dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
}

function header(title, sub, extra) {
  return h('header', { class: 'drawer__head' },
    h('div', { class: 'prs__headtext' },
      h('h2', { id: 'prs-dialog-title', class: 'drawer__title', tabindex: '-1' }, title),
      sub ? h('p', { class: 'drawer__sub' }, sub) : null),
    h('div', { class: 'prs__actions' }, extra,
      h('button', { type: 'button', class: 'btn btn--icon drawer__close', 'aria-label': 'Close', title: 'Close (Esc)',
        onclick: () => dialog.close() }, icon('close'))));
}

function focusTitle() {
  const t = body.querySelector('#prs-dialog-title');
  if (t) t.focus();
}

function labelChip(l) {
  return h('span', {
    class: 'chip', style: { backgroundColor: labelColor(l.color), color: labelText(l.color) },
    title: `${l.name}: ${l.points} points`,
  }, h('span', { class: 'chip__name' }, l.name), l.points ? h('span', { class: 'chip__count' }, `+${l.points}`) : null);
}

function stateBadge(p) {
  const s = p.merged ? 'merged' : p.state === 'open' ? 'open' : 'rejected';
  return h('span', { class: `badge badge--${s}` }, s);
}

function prItem(p, scope) {
  const story = () => showStory(p, scope);
  return h('li', { class: 'pr', dataset: { pr: String(p.id), repo: p.repo, number: String(p.number) } },
    h('div', { class: 'pr__head' },
      h('a', { class: 'pr__link', href: p.url, target: '_blank', rel: 'noopener noreferrer', title: 'Open on GitHub' },
        `${p.repo}#${p.number}`, icon('external')),
      stateBadge(p),
      h('button', { type: 'button', class: 'btn btn--small pr__why', onclick: story,
        'aria-label': `Why ${p.repo}#${p.number} counts` }, 'Why?')),
    h('p', { class: 'pr__title' }, p.title),
    h('p', { class: 'pr__meta' },
      h('span', {}, p.author), ' · created ', day(p.created_at),
      p.merged_at ? [' · merged ', day(p.merged_at)] : p.closed_at ? [' · closed ', day(p.closed_at)] : null,
      p.merged ? [' · ', h('span', { class: 'pr__points' }, `${num(p.points)} points`)] : null),
    p.labels && p.labels.length ? h('div', { class: 'chips' }, p.labels.map(labelChip)) : null,
    h('p', { class: 'pr__whyline' }, p.why && p.why.length
      ? p.why.map((w, i) => [i ? '; ' : '', 'counts for ', h('strong', {}, w.team_name || w.team), `: member ${interval(w)} (${w.source})`])
      : 'counts for no partner team'));
}

// scope: {params, title, sub}: the query of /api/prs and how to name it.
async function showList(scope, append = null) {
  if (ctrl) ctrl.abort();
  const c = ctrl = new AbortController();
  const csv = `/api/prs.csv${query(scope.params)}`;
  const csvLink = h('a', { class: 'btn', id: 'prs-csv', href: csv, download: 'prs.csv' }, icon('download'), h('span', {}, 'CSV'));
  if (!append) {
    body.dataset.state = 'loading';
    replace(body, header(scope.title, scope.sub, csvLink),
      h('div', { class: 'drawer__content' }, h('p', { role: 'status', class: 'muted' }, 'Loading pull requests…')));
    focusTitle();
  }
  try {
    const data = append ? await getJSON(append, undefined, { signal: c.signal })
      : await getJSON('/api/prs', { ...scope.params, per_page: 50 }, { signal: c.signal });
    if (c.signal.aborted) return;
    const items = data.prs.map((p) => prItem(p, scope));
    if (append) {
      body.querySelector('#prs-list').append(...items);
      const more = body.querySelector('#prs-more');
      if (data.next) more.onclick = () => showList(scope, data.next); else more.remove();
      const first = items[0] && items[0].querySelector('.pr__link');
      if (first) first.focus();
      return;
    }
    body.dataset.state = 'ready';
    const pts = data.points != null ? ` · ${num(data.points)} points` : '';
    replace(body, header(scope.title, `${scope.sub} · ${num(data.total)} pull request${data.total === 1 ? '' : 's'}${pts}`, csvLink),
      h('div', { class: 'drawer__content' },
        data.total ? h('ol', { class: 'prs', id: 'prs-list' }, items)
          : emptyBox('No pull requests', 'Nothing counts for this number.'),
        data.next ? h('button', { type: 'button', class: 'btn', id: 'prs-more', onclick: () => showList(scope, data.next) },
          'Show more') : null));
    focusTitle();
  } catch (e) {
    if (e.name === 'AbortError' || c.signal.aborted) return;
    body.dataset.state = 'error';
    replace(body, header(scope.title, scope.sub), h('div', { class: 'drawer__content' }, errorBox(e, () => showList(scope))));
  }
}

async function showStory(p, scope) {
  if (ctrl) ctrl.abort();
  const c = ctrl = new AbortController();
  const back = scope ? h('button', { type: 'button', class: 'btn', id: 'prs-back', onclick: () => showList(scope) },
    icon('prev'), h('span', {}, 'Back to the list')) : null;
  body.dataset.state = 'loading';
  replace(body, header(`${p.repo}#${p.number}`, 'Loading…', back));
  focusTitle();
  try {
    const [owner, repo] = p.repo.split('/');
    const st = await getJSON(`/api/prs/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/${p.number}`,
      scope ? scope.period : undefined, { signal: c.signal });
    if (c.signal.aborted) return;
    const verdict = st.counts_for.length
      ? h('p', { class: 'story__verdict story__verdict--yes', id: 'story-verdict' }, 'Counts for ',
        st.counts_for.map((slug, i) => [i ? ', ' : '', h('strong', {}, (st.teams.find((t) => t.team === slug) || {}).name || slug)]))
      : h('p', { class: 'story__verdict story__verdict--no', id: 'story-verdict' },
        st.counted ? 'Counted in the overall numbers, for no partner team' : 'Does not count');
    body.dataset.state = 'ready';
    replace(body, header(`${st.pr.repo}#${st.pr.number}`, st.pr.title, back),
      h('div', { class: 'drawer__content story' },
        h('p', { class: 'pr__meta' },
          h('a', { href: st.pr.url, target: '_blank', rel: 'noopener noreferrer' }, 'Open on GitHub', icon('external')),
          ' · ', st.pr.author, ' · created ', day(st.pr.created_at),
          st.pr.merged_at ? [' · merged ', day(st.pr.merged_at)] : st.pr.closed_at ? [' · closed ', day(st.pr.closed_at)] : null),
        verdict,
        st.reasons.length ? h('ul', { class: 'story__reasons', id: 'story-reasons' }, st.reasons.map((r) =>
          h('li', { dataset: { reason: r.code } }, h('strong', {}, REASONS[r.code] || r.code), ': ', r.message))) : null,
        st.teams.length ? [h('h3', { class: 'section-title' }, 'Teams of the author'),
          h('ul', { class: 'story__teams', id: 'story-teams' }, st.teams.map((t) => h('li', { dataset: { team: t.team, counts: String(t.counts) } },
            h('strong', {}, t.name || t.team), ' — ', t.counts ? 'counts' : (REASONS[t.reason] || t.reason),
            h('ul', {}, t.memberships.map((m) => h('li', {},
              `member ${interval(m)} (${m.source})${m.at_creation ? ' — when it was created' : ''}${m.note ? ` — ${m.note}` : ''}`))))))]
          : h('p', { class: 'muted' }, 'The author is in no team of the partner organization.'),
        h('h3', { class: 'section-title' }, 'What changed it'),
        st.history.length ? h('ol', { class: 'story__history', id: 'story-history' }, st.history.map((x) => h('li', {},
          `${x.at.replace('T', ' ').replace('Z', ' UTC')} · ${x.source}${x.action ? ` ${x.action}` : ''}${x.ref ? ` (${x.ref})` : ''} · ${x.change}: ${x.merged ? 'merged' : x.state}`)))
          : h('p', { class: 'muted' }, 'No recorded deliveries or syncs (stored before history was kept).')));
    focusTitle();
  } catch (e) {
    if (e.name === 'AbortError' || c.signal.aborted) return;
    body.dataset.state = 'error';
    replace(body, header(`${p.repo}#${p.number}`, '', back), h('div', { class: 'drawer__content' }, errorBox(e)));
  }
}

export function openList(scope, from) {
  ensureDialog();
  opener = from || null;
  if (!dialog.open) dialog.showModal();
  showList(scope);
}

// ---- turning numbers into buttons ----

function teamName(ctx, slug) {
  return ((ctx.teams || []).find((t) => t.slug === slug) || {}).name || slug;
}

function makeButton(el, scope) {
  if (el.dataset.explained) return;
  const text = el.textContent.trim();
  if (!/^[\d,]+$/.test(text)) return;
  el.dataset.explained = '1';
  const b = h('button', {
    type: 'button', class: 'explain', title: `Show the pull requests behind ${text}`,
    'aria-label': `${text}: show the ${scope.title.toLowerCase()} pull requests, ${scope.sub}`,
    onclick: (e) => { e.stopPropagation(); openList(scope, e.currentTarget); },
  }, text);
  el.replaceChildren(b);
}

function enhance(root) {
  const ctx = getCtx();
  if (!ctx) return;
  const s = ctx.state;
  const per = periodParams(s);
  const plabel = periodLabel(s);
  const metricOf = (col) => (col in METRIC_LABELS ? col : null);
  const make = (el, params, who, period = per, sub = plabel) => {
    const metric = params.metric;
    makeButton(el, { params: { ...params, ...period }, period, title: METRIC_LABELS[metric], sub: `${who} · ${sub}` });
  };
  // partner leaderboard rows, the totals row and the KPI tiles
  for (const tr of root.querySelectorAll('#leaderboard tbody tr[data-team]')) {
    const slug = tr.dataset.team;
    for (const el of tr.querySelectorAll('[data-col]')) {
      const m = metricOf(el.dataset.col);
      if (m) make(el, { team: slug, metric: m }, teamName(ctx, slug));
    }
  }
  for (const el of root.querySelectorAll('#leaderboard tfoot [data-col]')) {
    const m = metricOf(el.dataset.col);
    if (m) make(el, { scope: 'partner', metric: m }, 'All partners');
  }
  if (s.view === 'partners') {
    for (const el of root.querySelectorAll('#view .kpi[data-kpi] dd')) {
      const m = metricOf(el.parentElement.dataset.kpi);
      if (m) make(el, { scope: 'partner', metric: m }, 'All partners');
    }
  }
  // the team drill-down: its tiles and each member's numbers
  const team = s.team;
  if (team) {
    for (const el of root.querySelectorAll('#team-dialog-body .kpi[data-kpi] dd')) {
      const m = metricOf(el.parentElement.dataset.kpi);
      if (m) make(el, { team, metric: m }, teamName(ctx, team));
    }
    for (const li of root.querySelectorAll('#team-members li.member[data-login]')) {
      for (const el of li.querySelectorAll('.member__stats dd[data-col]')) {
        const m = metricOf(el.dataset.col);
        if (m) make(el, { team, author: li.dataset.login, metric: m }, `${li.dataset.login} in ${teamName(ctx, team)}`);
      }
    }
  }
  // contributors
  for (const tr of root.querySelectorAll('#contributors tbody tr[data-login]')) {
    for (const el of tr.querySelectorAll('td[data-col]')) {
      const m = metricOf(el.dataset.col);
      if (m) make(el, { author: tr.dataset.login, metric: m, ...(s.filter ? { team: s.filter } : {}) },
        s.filter ? `${tr.dataset.login} in ${teamName(ctx, s.filter)}` : tr.dataset.login);
    }
  }
  // the monthly table: each month and the year's total
  const monthly = root.querySelector('#monthly');
  if (monthly) {
    const year = (monthly.querySelector('th.col-total') || {}).textContent || '';
    const who = s.filter ? teamName(ctx, s.filter) : 'All PRs';
    for (const tr of monthly.querySelectorAll('tbody tr[data-metric]')) {
      const m = metricOf(tr.dataset.metric);
      if (!m) continue;
      for (const el of tr.querySelectorAll('td[data-month]')) {
        const mo = el.dataset.month;
        const total = mo === 'total';
        // the year's outstanding is the last month's
        const period = total ? (m === 'outstanding' ? { period: 'month', value: `${year}-12` } : { period: 'year', value: year })
          : { period: 'month', value: mo };
        make(el, { metric: m, ...(s.filter ? { team: s.filter } : {}) }, who, period, periodLabel(period));
      }
    }
  }
}

// ctxOf: () => the dashboard's context (state, teams).
export function install(ctxOf) {
  getCtx = ctxOf;
  ensureDialog();
  const roots = [document.getElementById('view'), document.getElementById('team-dialog-body')].filter(Boolean);
  const run = () => { for (const r of roots) enhance(r.closest('body') ? document : r); };
  const obs = new MutationObserver(run);
  for (const r of roots) obs.observe(r, { childList: true, subtree: true });
  run();
}
