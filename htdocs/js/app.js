// The dashboard: reads the view state from the URL, renders the toolbar and
// the view, keeps the URL in step with every change (reload and shared
// links restore the same view) and the team dialog in step with ?team=.
import { h, replace } from './dom.js';
import { getJSON } from './api.js';
import { parseState, normalize, toSearch, SORTS } from './state.js';
import { periodLabel } from './format.js';
import { skeleton, loadingText, errorBox } from './components.js';
import * as partners from './views/partners.js';
import * as contributors from './views/contributors.js';
import * as monthly from './views/monthly.js';
import { TeamDialog } from './views/team.js';
import * as prs from './views/prs.js';

const VIEWS = { partners, contributors, monthly };
const TITLES = { partners: 'Partners', contributors: 'Contributors', monthly: 'Monthly statistics' };

const viewEl = document.getElementById('view');
const toolbarEl = document.getElementById('period-bar');
const footerEl = document.getElementById('footer-status');

const ctx = {
  state: parseState(location.search),
  periods: null,
  periodsError: null,
  teams: null,
  lastPeriod: null,
  ready: Promise.resolve(),
  navigate,
  hrefFor: (patch) => `/${toSearch(normalize({ ...ctx.state, ...patch }))}`,
  openTeam: (slug, opener) => { pendingOpener = opener || null; navigate({ team: slug }); },
  sortType: (key) => (SORTS[ctx.state.view] || {})[key] || 'num',
};

let viewCtrl = null;
let pendingOpener = null;
let shownKey = '';

const dialog = new TeamDialog(document.getElementById('team-dialog'), document.getElementById('team-dialog-body'), {
  onClose: (opener) => {
    if (ctx.state.team) navigate({ team: '' });
    const target = opener || document.querySelector(`.team-link[data-team="${CSS.escape(lastTeam)}"]`)
      || document.getElementById('main');
    if (target) target.focus();
  },
});
let lastTeam = '';

function navigate(patch, { replace: rep = false } = {}) {
  const next = normalize({ ...ctx.state, ...patch });
  const url = `/${toSearch(next)}`;
  if (url !== location.pathname + location.search) {
    history[rep ? 'replaceState' : 'pushState'](null, '', url);
  }
  ctx.state = next;
  update();
}

// Fill what the URL left open (the newest month, quarter or year) once the
// periods are known; the URL is corrected in place (no extra history entry).
function fillDefaults() {
  const s = ctx.state;
  const lists = { month: 'months', quarter: 'quarters', year: 'years' };
  if (lists[s.period] && !s.value && ctx.periods) {
    const first = (ctx.periods[lists[s.period]] || [])[0];
    if (first) { navigate({ value: first }, { replace: true }); return true; }
  }
  if (s.view === 'monthly' && !s.year) {
    navigate({ year: monthly.currentYear(ctx) }, { replace: true });
    return true;
  }
  return false;
}

function renderToolbar() {
  const mod = VIEWS[ctx.state.view];
  const focused = document.activeElement && toolbarEl.contains(document.activeElement) ? document.activeElement.id : '';
  replace(toolbarEl, mod.toolbar(ctx));
  toolbarEl.dataset.view = ctx.state.view;
  if (focused) {
    const el = document.getElementById(focused);
    if (el && !el.disabled) el.focus();
  }
}

function viewKey() {
  const s = { ...ctx.state, team: '' };
  return toSearch(s) || '?';
}

// The control that has focus inside the view, as a selector that finds its
// counterpart after a re-render (sorting keeps focus on the header used).
function focusKey() {
  const a = document.activeElement;
  if (!a || !viewEl.contains(a)) return '';
  if (a.dataset.sort) return `[data-sort="${CSS.escape(a.dataset.sort)}"]`;
  if (a.id) return `#${CSS.escape(a.id)}`;
  return '';
}

async function loadView(force = false) {
  const key = viewKey();
  if (!force && key === shownKey && viewEl.dataset.state !== 'error') return;
  if (viewCtrl) viewCtrl.abort();
  const ctrl = viewCtrl = new AbortController();
  const name = ctx.state.view;
  const mod = VIEWS[name];
  if (viewEl.dataset.view !== name || viewEl.dataset.state === 'error' || !viewEl.firstChild) {
    if (monthly.teardown && viewEl.dataset.view === 'monthly') monthly.teardown();
    replace(viewEl, loadingText(TITLES[name]), skeleton());
  } else {
    viewEl.classList.add('is-stale');
  }
  viewEl.dataset.view = name;
  viewEl.dataset.state = 'loading';
  viewEl.setAttribute('aria-busy', 'true');
  shownKey = key;
  try {
    const data = await mod.load(ctx, ctrl.signal);
    if (ctrl.signal.aborted) return;
    await ctx.ready;
    if (ctrl.signal.aborted) return;
    if (name === 'monthly') monthly.teardown();
    const refocus = focusKey();
    const out = mod.render(ctx, data);
    replace(viewEl, out.el);
    if (refocus && document.activeElement === document.body) {
      const el = viewEl.querySelector(refocus);
      if (el) el.focus();
    }
    if (out.after) await out.after();
    if (ctrl.signal.aborted) return;
    viewEl.dataset.state = out.empty ? 'empty' : 'ready';
  } catch (e) {
    if (e.name === 'AbortError' || ctrl.signal.aborted) return;
    replace(viewEl, errorBox(e, () => loadView(true)));
    viewEl.dataset.state = 'error';
    shownKey = '';
  } finally {
    if (viewCtrl === ctrl) {
      viewEl.classList.remove('is-stale');
      viewEl.removeAttribute('aria-busy');
    }
  }
}

function update() {
  if (fillDefaults()) return;
  const s = ctx.state;
  for (const a of document.querySelectorAll('[data-nav]')) {
    const on = a.dataset.nav === s.view;
    a.classList.toggle('is-active', on);
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    a.href = `/${toSearch(normalize({ ...s, view: a.dataset.nav, team: '' }))}`;
  }
  const what = s.view === 'monthly' ? monthly.currentYear(ctx) : periodLabel(s);
  document.title = `${TITLES[s.view]} · ${what} · Partner leaderboard`;
  renderToolbar();
  loadView();
  if (s.team && s.view !== 'monthly') {
    lastTeam = s.team;
    dialog.show(ctx, pendingOpener);
  } else {
    dialog.hide();
  }
  pendingOpener = null;
}

async function loadPeriods() {
  try {
    ctx.periods = await getJSON('/api/periods');
    ctx.periodsError = null;
  } catch (e) {
    ctx.periodsError = e;
  }
}

async function loadTeams() {
  try {
    const lb = await getJSON('/api/leaderboard', { period: 'all' });
    ctx.teams = (lb.teams || []).map((t) => ({ slug: t.slug, name: t.name }));
  } catch {
    ctx.teams = null;	// the filter then offers the current team only; the views show API errors
  }
}

async function loadHealth() {
  try {
    const hl = await getJSON('/api/health');
    replace(footerEl, h('span', { class: 'dot dot--ok', 'aria-hidden': 'true' }),
      `API ${hl.status} · leaderboard ${hl.version} · schema ${hl.schema_version}`);
  } catch (e) {
    replace(footerEl, h('span', { class: 'dot dot--bad', 'aria-hidden': 'true' }), `API: ${e.message}`);
  }
}

// Internal links (tabs) navigate in place; modified clicks open new tabs.
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(parseState(new URL(a.href).search));
});

window.addEventListener('popstate', () => {
  ctx.state = parseState(location.search);
  update();
});

// Defaults that only /api/periods can fill (the newest month, quarter, year).
function needsPeriods(s) {
  return (s.period !== 'all' && s.period !== 'range' && !s.value) || (s.view === 'monthly' && !s.year);
}

async function boot() {
  replace(viewEl, loadingText('the leaderboard'), skeleton());
  // The view's own request runs alongside these two; it is shown once they
  // are in (the toolbar pickers and team names need them).
  const periods = loadPeriods();
  ctx.ready = Promise.all([periods, loadTeams()]);
  ctx.ready.then(() => { if (!fillDefaults()) renderToolbar(); });
  if (needsPeriods(ctx.state)) await periods;
  // Normalize the address (unknown parameters and defaults dropped).
  const clean = `/${toSearch(ctx.state)}`;
  if (clean !== location.pathname + location.search) history.replaceState(null, '', clean);
  update();
  loadHealth();
}

boot();
prs.install(() => ctx);	// every number opens the PRs behind it
