// Partner leaderboard: one row per partner team, totals row, sortable
// columns, CSV download of the same rows.
import { h, icon } from '../dom.js';
import { getJSON, periodParams, query } from '../api.js';
import { num, periodLabel, periodSlug } from '../format.js';
import { sortOf } from '../state.js';
import {
  periodSwitcher, sortHeader, plainHeader, sortRows, chips, kpis, split, emptyBox,
} from '../components.js';

const SORT_LABEL = { name: 'team name', members: 'members', created: 'created', merged: 'merged',
  rejected: 'rejected', open: 'open', split: 'partner repositories', points: 'points' };

export function csvHref(state) {
  return `/api/leaderboard.csv${query({ ...periodParams(state), sort: sortOf(state).server })}`;
}

export function toolbar(ctx) {
  return [
    periodSwitcher(ctx),
    h('a', {
      class: 'btn btn--primary', id: 'csv-download', href: csvHref(ctx.state),
      download: `leaderboard-${periodSlug(ctx.state)}.csv`,
    }, icon('download'), h('span', {}, 'Download CSV')),
  ];
}

export function load(ctx, signal) {
  return getJSON('/api/leaderboard', { ...periodParams(ctx.state), sort: sortOf(ctx.state).server }, { signal });
}

function accessor(sort) {
  if (sort === 'split') return (r) => r.partner_created;
  return (r) => r[sort];
}

export function render(ctx, data) {
  const { state } = ctx;
  const { sort, dir } = sortOf(state);
  const label = periodLabel(data.period || state);
  ctx.lastPeriod = data.period || null;
  const t = data.totals || {};
  const teams = Array.isArray(data.teams) ? data.teams : [];

  const tiles = kpis([
    ['teams', 'Partners', num(t.teams)],
    ['members', 'Developers', num(t.members)],
    ['created', 'Created', num(t.created), `${num(t.partner_created)} partner · ${num(t.oss_created)} OSS`],
    ['merged', 'Merged', num(t.merged)],
    ['rejected', 'Rejected', num(t.rejected)],
    ['open', 'Still open', num(t.open)],
    ['points', 'Points', num(t.points)],
  ]);

  const head = h('div', { class: 'card__head' },
    h('div', {},
      h('h1', { class: 'card__title' }, 'Partner leaderboard'),
      h('p', { class: 'card__sub', id: 'period-label' }, label, ' · ', `ranked by ${SORT_LABEL[sort] || sort}`)));

  const quiet = !teams.length || !((t.created || 0) + (t.merged || 0) + (t.rejected || 0));
  if (quiet) {
    return { el: [tiles, h('div', { class: 'card' }, head,
      emptyBox('No partner activity', `No partner team has pull requests in ${label}. Try another period.`))], empty: true };
  }

  const rows = sortRows(teams, sort, dir, accessor(sort));
  const table = h('table', { class: 'table', id: 'leaderboard' },
    h('caption', { class: 'sr-only' }, `Partner teams, ${label}, sorted by ${SORT_LABEL[sort] || sort} (${dir === 'asc' ? 'ascending' : 'descending'})`),
    h('thead', {}, h('tr', {},
      plainHeader('#', 'num col-rank', 'Rank'),
      sortHeader(ctx, 'name', 'Team', { cls: 'col-team' }),
      sortHeader(ctx, 'members', 'Members'),
      sortHeader(ctx, 'created', 'Created'),
      sortHeader(ctx, 'merged', 'Merged'),
      sortHeader(ctx, 'rejected', 'Rejected'),
      sortHeader(ctx, 'open', 'Open', { title: 'Created in the period and still open; sort by open' }),
      sortHeader(ctx, 'split', 'Partner / OSS', { cls: 'col-split', title: 'Created PRs in partner-owned / open-source repositories; sort by partner' }),
      sortHeader(ctx, 'points', 'Points'),
      plainHeader('Labels of merged PRs', 'col-labels'))),
    h('tbody', {}, rows.map((r) => h('tr', { dataset: { team: r.slug } },
      h('td', { class: 'num col-rank', dataset: { col: 'rank' } }, h('span', { class: `rank rank--${r.rank <= 3 ? r.rank : 'n'}` }, num(r.rank))),
      h('th', { scope: 'row', class: 'col-team', dataset: { col: 'name' } },
        h('a', {
          class: 'team-link', href: ctx.hrefFor({ team: r.slug }), dataset: { team: r.slug },
          onclick: (e) => { e.preventDefault(); ctx.openTeam(r.slug, e.currentTarget); },
        }, r.name),
        h('span', { class: 'slug' }, r.slug)),
      h('td', { class: 'num', dataset: { col: 'members' } }, num(r.members)),
      h('td', { class: 'num', dataset: { col: 'created' } }, num(r.created)),
      h('td', { class: 'num strong', dataset: { col: 'merged' } }, num(r.merged)),
      h('td', { class: 'num', dataset: { col: 'rejected' } }, num(r.rejected)),
      h('td', { class: 'num', dataset: { col: 'open' } }, num(r.open)),
      h('td', { class: 'col-split', dataset: { col: 'split' } }, split(r.partner_created, r.oss_created)),
      h('td', { class: 'num strong', dataset: { col: 'points' } }, num(r.points)),
      h('td', { class: 'col-labels', dataset: { col: 'labels' } }, chips(r.labels))))),
    h('tfoot', {}, h('tr', { dataset: { totals: '' } },
      h('td', { class: 'col-rank' }),
      h('th', { scope: 'row', class: 'col-team' }, 'Total', h('span', { class: 'slug' }, `${num(t.teams)} teams`)),
      h('td', { class: 'num', dataset: { col: 'members' } }, num(t.members)),
      h('td', { class: 'num', dataset: { col: 'created' } }, num(t.created)),
      h('td', { class: 'num', dataset: { col: 'merged' } }, num(t.merged)),
      h('td', { class: 'num', dataset: { col: 'rejected' } }, num(t.rejected)),
      h('td', { class: 'num', dataset: { col: 'open' } }, num(t.open)),
      h('td', { class: 'col-split', dataset: { col: 'split' } }, split(t.partner_created, t.oss_created)),
      h('td', { class: 'num', dataset: { col: 'points' } }, num(t.points)),
      h('td', { class: 'col-labels' }))));

  return {
    el: [tiles, h('div', { class: 'card' }, head,
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-labelledby': 'lb-caption' },
        h('span', { id: 'lb-caption', class: 'sr-only' }, 'Partner leaderboard table, scrollable'), table),
      h('p', { class: 'card__foot' },
        'Totals count each pull request and each developer once, even when a developer belongs to two partners. ',
        'Points: merged PRs plus the points of their labels.'))],
    empty: false,
  };
}
