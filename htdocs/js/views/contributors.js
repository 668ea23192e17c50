// Contributors leaderboard: every non-bot author active in the period, for
// all partners or one team.
import { h } from '../dom.js';
import { getJSON, periodParams } from '../api.js';
import { num, periodLabel } from '../format.js';
import { sortOf } from '../state.js';
import {
  periodSwitcher, teamFilter, sortHeader, plainHeader, sortRows, avatar, emptyBox,
} from '../components.js';

export const LIMIT = 200;

export function toolbar(ctx) {
  return [periodSwitcher(ctx), teamFilter(ctx)];
}

export function load(ctx, signal) {
  const { server } = sortOf(ctx.state);
  return getJSON('/api/contributors', {
    ...periodParams(ctx.state), team: ctx.state.filter,
    sort: server === 'points' ? undefined : server, limit: LIMIT,
  }, { signal });
}

export function render(ctx, data) {
  const { state } = ctx;
  const { sort, dir } = sortOf(state);
  const label = periodLabel(data.period || state);
  ctx.lastPeriod = data.period || null;
  const list = Array.isArray(data.contributors) ? data.contributors : [];
  const teamName = (slug) => ((ctx.teams || []).find((t) => t.slug === slug) || {}).name || slug;
  const scope = state.filter ? teamName(state.filter) : 'all partners';

  const head = h('div', { class: 'card__head' },
    h('div', {},
      h('h1', { class: 'card__title' }, 'Contributors'),
      h('p', { class: 'card__sub', id: 'period-label' }, label, ' · ', scope)));

  if (!list.length) {
    return { el: h('div', { class: 'card' }, head,
      emptyBox('No contributors', `Nobody from ${scope} has pull requests in ${label}.`)), empty: true };
  }
  const rows = sortRows(list, sort, dir);
  const table = h('table', { class: 'table', id: 'contributors' },
    h('caption', { class: 'sr-only' }, `Contributors of ${scope}, ${label}`),
    h('thead', {}, h('tr', {},
      plainHeader('#', 'num col-rank', 'Rank'),
      sortHeader(ctx, 'login', 'Contributor', { cls: 'col-team' }),
      plainHeader('Partner teams', 'col-labels'),
      sortHeader(ctx, 'created', 'Created'),
      sortHeader(ctx, 'merged', 'Merged'),
      sortHeader(ctx, 'rejected', 'Rejected'))),
    h('tbody', {}, rows.map((c) => h('tr', { dataset: { login: c.login } },
      h('td', { class: 'num col-rank', dataset: { col: 'rank' } }, h('span', { class: `rank rank--${c.rank <= 3 ? c.rank : 'n'}` }, num(c.rank))),
      h('th', { scope: 'row', class: 'col-team', dataset: { col: 'login' } },
        h('span', { class: 'person' }, avatar(c.avatar_url, c.login),
          h('a', { href: `https://github.com/${encodeURIComponent(c.login)}`, target: '_blank', rel: 'noopener noreferrer' }, c.login))),
      h('td', { class: 'col-labels', dataset: { col: 'teams' } },
        (c.teams || []).length ? h('div', { class: 'chips' }, c.teams.map((slug) => h('a', {
          class: 'chip chip--team', href: ctx.hrefFor({ team: slug }), dataset: { team: slug },
          onclick: (e) => { e.preventDefault(); ctx.openTeam(slug, e.currentTarget); },
        }, teamName(slug)))) : h('span', { class: 'muted' }, 'no partner team')),
      h('td', { class: 'num', dataset: { col: 'created' } }, num(c.created)),
      h('td', { class: 'num strong', dataset: { col: 'merged' } }, num(c.merged)),
      h('td', { class: 'num', dataset: { col: 'rejected' } }, num(c.rejected))))));

  return {
    el: h('div', { class: 'card' }, head,
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Contributors table, scrollable' }, table),
      list.length >= LIMIT ? h('p', { class: 'card__foot' }, `Showing the top ${LIMIT}.`) : null),
    empty: false,
  };
}
