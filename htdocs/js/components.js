// Pieces shared by the views: period switcher, team filter, sortable table
// headers, label chips, avatars, KPI tiles, loading/empty/error states.
import { h, icon } from './dom.js';
import { periodLabel, periodBounds, labelColor, labelText, num } from './format.js';
import { sortOf } from './state.js';

const KIND_LABELS = [['all', 'All time'], ['month', 'Month'], ['quarter', 'Quarter'], ['year', 'Year'], ['range', 'Custom']];
const LISTS = { month: 'months', quarter: 'quarters', year: 'years' };

function listFor(periods, kind) {
  return periods && LISTS[kind] ? (periods[LISTS[kind]] || []) : null;
}

// The value of `kind` containing the date `ref` (YYYY-MM-DD), if listed.
function valueAt(kind, ref, list) {
  if (!ref) return list[0] || '';
  const y = ref.slice(0, 4);
  const m = Number(ref.slice(5, 7));
  const v = kind === 'month' ? ref.slice(0, 7) : kind === 'quarter' ? `${y}-Q${Math.ceil(m / 3)}` : y;
  return list.includes(v) ? v : (list[0] || '');
}

// What the state becomes when the user picks another period kind: keep
// looking at the same time where possible (March 2024 -> Q1 2024 -> 2024).
export function kindPatch(ctx, kind) {
  const { state, periods } = ctx;
  const cur = state.period === 'range' ? { from: state.from, to: state.to }
    : periodBounds(state.period, state.value) || ctx.lastPeriod || null;
  if (kind === 'all') return { period: 'all' };
  if (kind === 'range') {
    let from = cur && cur.from;
    let to = cur && cur.to;
    if (!from || !to) {
      const b = periods && periods.months && periods.months.length
        ? { from: periodBounds('month', periods.months[periods.months.length - 1]).from,
          to: periodBounds('month', periods.months[0]).to } : null;
      const today = new Date().toISOString().slice(0, 10);
      from = (b && b.from) || `${today.slice(0, 4)}-01-01`;
      to = (b && b.to) || today;
    }
    return { period: 'range', from, to };
  }
  return { period: kind, value: valueAt(kind, cur && cur.from, listFor(periods, kind) || []) };
}

export function periodSwitcher(ctx) {
  const { state, periods } = ctx;
  const group = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Period' },
    KIND_LABELS.map(([k, label]) => {
      const list = listFor(periods, k);
      const disabled = list !== null && periods && list.length === 0;
      return h('label', { class: 'segmented__item', title: disabled ? 'No pull requests yet' : null },
        h('input', {
          type: 'radio', name: 'period-kind', id: `period-${k}`, value: k,
          checked: state.period === k, disabled,
          onchange: () => ctx.navigate(kindPatch(ctx, k)),
        }),
        h('span', {}, label));
    }));

  let value = null;
  if (LISTS[state.period]) {
    const list = [...(listFor(periods, state.period) || [])];
    if (state.value && !list.includes(state.value)) list.unshift(state.value);
    const i = list.indexOf(state.value);
    const step = (d) => ctx.navigate({ value: list[i + d] });
    value = h('div', { class: 'stepper' },
      h('button', { type: 'button', class: 'btn btn--icon', id: 'period-older', 'aria-label': 'Older period', title: 'Older',
        disabled: i < 0 || i >= list.length - 1, onclick: () => step(1) }, icon('prev')),
      h('label', { class: 'sr-only', for: 'period-select' }, `Choose the ${state.period}`),
      h('select', { id: 'period-select', class: 'select', onchange: (e) => ctx.navigate({ value: e.target.value }) },
        list.map((v) => h('option', { value: v, selected: v === state.value },
          periodLabel({ kind: state.period, value: v })))),
      h('button', { type: 'button', class: 'btn btn--icon', id: 'period-newer', 'aria-label': 'Newer period', title: 'Newer',
        disabled: i <= 0, onclick: () => step(-1) }, icon('next')));
  } else if (state.period === 'range') {
    value = h('form', {
      class: 'range', id: 'range-form',
      onsubmit: (e) => {
        e.preventDefault();
        const f = e.target.elements;
        ctx.navigate({ from: f.from.value, to: f.to.value });
      },
    },
    h('label', { class: 'range__field' }, h('span', {}, 'From'),
      h('input', { type: 'date', name: 'from', id: 'period-from', class: 'input', value: state.from, required: true })),
    h('label', { class: 'range__field' }, h('span', {}, 'To'),
      h('input', { type: 'date', name: 'to', id: 'period-to', class: 'input', value: state.to, required: true })),
    h('button', { type: 'submit', class: 'btn', id: 'period-apply' }, 'Apply'));
  }
  const err = ctx.periodsError
    ? h('p', { class: 'inline-error', role: 'alert' }, icon('alert'),
      `Periods could not be loaded: ${ctx.periodsError.message}`) : null;
  return h('div', { class: 'period' }, group, value, err);
}

export function teamFilter(ctx, label = 'Team') {
  const teams = [...(ctx.teams || [])].sort((a, b) => a.name.localeCompare(b.name));
  const cur = ctx.state.filter;
  if (cur && !teams.some((t) => t.slug === cur)) teams.unshift({ slug: cur, name: cur });
  return h('div', { class: 'field-inline' },
    h('label', { for: 'team-filter' }, label),
    h('select', { id: 'team-filter', class: 'select', onchange: (e) => ctx.navigate({ filter: e.target.value }) },
      h('option', { value: '', selected: !cur }, 'All partners'),
      teams.map((t) => h('option', { value: t.slug, selected: t.slug === cur }, t.name))));
}

// A <th> whose button sorts the table by `key`.
export function sortHeader(ctx, key, label, { cls = 'num', title } = {}) {
  const { sort, dir } = sortOf(ctx.state);
  const active = sort === key;
  const type = ctx.sortType(key);
  const nextDir = active ? (dir === 'asc' ? 'desc' : 'asc') : (type === 'text' ? 'asc' : 'desc');
  return h('th', {
    scope: 'col', class: `${cls} sortable${active ? ' is-sorted' : ''}`,
    'aria-sort': active ? (dir === 'asc' ? 'ascending' : 'descending') : null,
  },
  h('button', {
    type: 'button', class: 'sort-btn', dataset: { sort: key }, title: title || `Sort by ${label.toLowerCase()}`,
    onclick: () => ctx.navigate({ sort: key, dir: nextDir }),
  }, h('span', {}, label), icon(active ? (dir === 'asc' ? 'up' : 'down') : 'sort', 'sort-icon')));
}

export function plainHeader(label, cls = '', title) {
  return h('th', { scope: 'col', class: cls, title }, label);
}

export function sortRows(rows, sort, dir, accessor) {
  const get = accessor || ((r) => r[sort]);
  const sign = dir === 'asc' ? 1 : -1;
  return rows.map((r, i) => [r, i]).sort(([a, i], [b, j]) => {
    const x = get(a); const y = get(b);
    let c = typeof x === 'string' || typeof y === 'string'
      ? String(x ?? '').localeCompare(String(y ?? ''), 'en', { sensitivity: 'base' })
      : (x ?? -Infinity) - (y ?? -Infinity);
    if (c === 0) return i - j;	// keep the API's order (its ranks) for ties
    return c * sign;
  }).map(([r]) => r);
}

export function chip(label) {
  return h('span', {
    class: 'chip', dataset: { label: label.name },
    style: { backgroundColor: labelColor(label.color), color: labelText(label.color) },
    title: `${label.name}: ${label.count} merged`,
  }, h('span', { class: 'chip__name' }, label.name), h('span', { class: 'chip__count' }, num(label.count)));
}

export function chips(labels, max = 4) {
  if (!labels || !labels.length) return h('span', { class: 'muted' }, '—');
  const sorted = [...labels].sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  const shown = sorted.slice(0, max);
  const rest = sorted.slice(max);
  return h('div', { class: 'chips' }, shown.map(chip),
    rest.length ? h('span', { class: 'chip chip--more', title: rest.map((l) => `${l.name}: ${l.count}`).join(', ') },
      `+${rest.length}`) : null);
}

export const FALLBACK_AVATAR = '/img/avatar.svg';

export function avatar(url, login, size = 28) {
  return h('img', {
    class: 'avatar', src: url || FALLBACK_AVATAR, alt: '', width: size, height: size,
    loading: 'lazy', decoding: 'async', referrerpolicy: 'no-referrer',
    onerror: (e) => { if (!e.target.src.endsWith(FALLBACK_AVATAR)) e.target.src = FALLBACK_AVATAR; },
    dataset: { login },
  });
}

export function kpis(items) {
  return h('dl', { class: 'kpis' }, items.map(([key, label, value, hint]) =>
    h('div', { class: `kpi kpi--${key}`, dataset: { kpi: key } },
      h('dt', {}, label), h('dd', {}, value), hint ? h('p', { class: 'kpi__hint' }, hint) : null)));
}

export function split(partner, oss) {
  const total = (partner || 0) + (oss || 0);
  const p = total ? Math.round((100 * partner) / total) : 0;
  return h('div', { class: 'split', title: `${num(partner)} in partner repositories, ${num(oss)} in open-source repositories` },
    h('div', { class: 'split__bar', 'aria-hidden': 'true' },
      h('span', { class: 'split__partner', style: { width: `${p}%` } }),
      h('span', { class: 'split__oss', style: { width: `${total ? 100 - p : 0}%` } })),
    h('span', { class: 'split__nums' },
      h('span', { dataset: { col: 'partner_created' } }, num(partner)), ' / ',
      h('span', { dataset: { col: 'oss_created' } }, num(oss))));
}

export function skeleton(rows = 6) {
  return h('div', { class: 'card skeleton', 'aria-hidden': 'true' },
    h('div', { class: 'skeleton__line skeleton__line--title' }),
    Array.from({ length: rows }, () => h('div', { class: 'skeleton__line' })));
}

export function loadingText(what) {
  return h('p', { class: 'sr-only', role: 'status' }, `Loading ${what}…`);
}

export function errorBox(err, retry) {
  const status = err.status ? `HTTP ${err.status}` : 'No answer';
  return h('div', { class: 'notice notice--error', role: 'alert', dataset: { errorCode: err.code || '' } },
    icon('alert', 'notice__icon'),
    h('div', { class: 'notice__body' },
      h('h2', { class: 'notice__title' }, 'The leaderboard API reported an error'),
      h('p', { class: 'notice__message' }, err.message || String(err)),
      h('p', { class: 'notice__meta' }, `${status} · ${err.code || 'error'}${err.url ? ` · ${err.url}` : ''}`),
      retry ? h('button', { type: 'button', class: 'btn', onclick: retry }, 'Try again') : null));
}

export function emptyBox(title, text) {
  return h('div', { class: 'notice notice--empty', dataset: { empty: '' } },
    icon('empty', 'notice__icon'),
    h('div', { class: 'notice__body' }, h('h2', { class: 'notice__title' }, title), h('p', {}, text)));
}

export function periodNote(p) {
  return periodLabel(p || {});
}
