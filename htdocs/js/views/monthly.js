// Monthly statistics of one year (all partners or one team): a chart over
// the months and the table of docs/REFERENCE.md ("Statistics: definitions", monthly).
import { h, icon } from '../dom.js';
import { getJSON } from '../api.js';
import { num, pct, monthName } from '../format.js';
import { teamFilter, kpis, emptyBox } from '../components.js';

export const METRICS = [
  ['processed', 'Processed', 'Merged + rejected'],
  ['merged', 'Merged', null],
  ['rejected', 'Rejected', 'Closed without merge'],
  ['created', 'Created', null],
  ['outstanding', 'Outstanding', 'Open at the end of the month'],
  ['acceptance_rate', 'Acceptance rate', 'Merged / processed'],
  ['contributors', 'Contributors', 'Distinct authors'],
  ['new_contributors', 'New contributors', 'First tracked PR'],
];

export function currentYear(ctx) {
  return ctx.state.year || (ctx.periods && ctx.periods.years && ctx.periods.years[0]) || String(new Date().getUTCFullYear());
}

export function toolbar(ctx) {
  const year = currentYear(ctx);
  const years = [...((ctx.periods && ctx.periods.years) || [])];
  if (!years.includes(year)) years.push(year);
  years.sort((a, b) => b.localeCompare(a));
  const i = years.indexOf(year);
  return [
    h('div', { class: 'stepper' },
      h('button', { type: 'button', class: 'btn btn--icon', id: 'year-older', 'aria-label': 'Previous year', title: 'Previous year',
        disabled: i >= years.length - 1, onclick: () => ctx.navigate({ year: years[i + 1] }) }, icon('prev')),
      h('label', { class: 'sr-only', for: 'year-select' }, 'Year'),
      h('select', { id: 'year-select', class: 'select', onchange: (e) => ctx.navigate({ year: e.target.value }) },
        years.map((y) => h('option', { value: y, selected: y === year }, y))),
      h('button', { type: 'button', class: 'btn btn--icon', id: 'year-newer', 'aria-label': 'Next year', title: 'Next year',
        disabled: i <= 0, onclick: () => ctx.navigate({ year: years[i - 1] }) }, icon('next'))),
    teamFilter(ctx),
  ];
}

export function load(ctx, signal) {
  return getJSON('/api/stats/monthly', { year: currentYear(ctx), team: ctx.state.filter }, { signal });
}

let chartLib = null;
function loadChartJs() {
  if (window.Chart) return Promise.resolve(window.Chart);
  if (!chartLib) {
    chartLib = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/chart.js/chart.min.js';
      s.onload = () => resolve(window.Chart);
      s.onerror = () => { chartLib = null; reject(new Error('Chart.js could not be loaded from /vendor/chart.js/')); };
      document.head.append(s);
    });
  }
  return chartLib;
}

let chart = null;

function drawChart(canvas, months, rows) {
  return loadChartJs().then((Chart) => {
    if (chart) { chart.destroy(); chart = null; }
    const v = (k) => months.map((m) => (rows[k] ? rows[k][m] ?? null : null));
    const reduce = window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    const font = { family: getComputedStyle(document.body).fontFamily, size: 12 };
    Chart.defaults.font = { ...Chart.defaults.font, ...font };
    Chart.defaults.color = '#59636e';
    chart = new Chart(canvas, {
      data: {
        labels: months.map((m) => monthName(m, true)),
        datasets: [
          { type: 'bar', label: 'Merged', data: v('merged'), backgroundColor: '#2da44e', stack: 'processed', borderRadius: 3, order: 2 },
          { type: 'bar', label: 'Rejected', data: v('rejected'), backgroundColor: '#e5534b', stack: 'processed', borderRadius: 3, order: 2 },
          { type: 'line', label: 'Created', data: v('created'), borderColor: '#0969da', backgroundColor: '#0969da',
            cubicInterpolationMode: 'monotone', pointRadius: 3, borderWidth: 2, order: 1 },
          { type: 'line', label: 'Acceptance rate', data: v('acceptance_rate'), yAxisID: 'rate', borderColor: '#8250df',
            backgroundColor: '#8250df', borderDash: [5, 4], cubicInterpolationMode: 'monotone', pointRadius: 2, borderWidth: 2, spanGaps: true, order: 0 },
        ],
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: reduce ? false : { duration: 350 },
        interaction: { mode: 'index', intersect: false },
        plugins: {
          legend: { position: 'bottom', labels: { usePointStyle: true, boxWidth: 8, padding: 16, sort: (a, b) => a.datasetIndex - b.datasetIndex } },
          tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${c.dataset.yAxisID === 'rate' ? pct(c.raw) : num(c.raw)}` } },
        },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, grace: '10%', ticks: { precision: 0 }, title: { display: true, text: 'Pull requests' }, grid: { color: '#eef1f4' } },
          rate: { position: 'right', min: 0, max: 100, grid: { display: false }, ticks: { callback: (x) => `${x}%` }, title: { display: true, text: 'Acceptance' } },
        },
      },
    });
  });
}

export function render(ctx, data) {
  const months = Array.isArray(data.months) ? data.months : [];
  const rows = data.rows || {};
  const year = data.year || currentYear(ctx);
  const teamName = ctx.state.filter
    ? (((ctx.teams || []).find((t) => t.slug === ctx.state.filter) || {}).name || ctx.state.filter) : 'All partners';
  const tot = (k) => (rows[k] ? rows[k].total : null);
  const empty = ['created', 'processed', 'outstanding'].every((k) => !tot(k));

  const tiles = kpis([
    ['created', 'Created', num(tot('created'))],
    ['merged', 'Merged', num(tot('merged'))],
    ['rejected', 'Rejected', num(tot('rejected'))],
    ['acceptance_rate', 'Acceptance rate', pct(tot('acceptance_rate'))],
    ['contributors', 'Contributors', num(tot('contributors')), `${num(tot('new_contributors'))} new`],
    ['outstanding', 'Outstanding', num(tot('outstanding')), 'at the end of the year'],
  ]);

  const canvas = h('canvas', { id: 'monthly-chart', role: 'img', 'aria-label': `Merged, rejected and created pull requests per month of ${year}, with the acceptance rate` });
  const chartNote = h('p', { class: 'inline-error', role: 'alert', hidden: true });
  const chartCard = h('div', { class: 'card' },
    h('div', { class: 'card__head' }, h('div', {},
      h('h1', { class: 'card__title' }, `Monthly statistics ${year}`),
      h('p', { class: 'card__sub', id: 'period-label' }, teamName))),
    empty ? emptyBox('No pull requests', `Nothing was created, merged or rejected in ${year}.`)
      : h('div', { class: 'chart' }, canvas), chartNote);

  const table = h('table', { class: 'table table--dense', id: 'monthly' },
    h('caption', { class: 'sr-only' }, `Monthly statistics ${year}, ${teamName}`),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col', class: 'col-team' }, 'Metric'),
      months.map((m) => h('th', { scope: 'col', class: 'num' }, h('abbr', { title: monthName(m) }, monthName(m, true)))),
      h('th', { scope: 'col', class: 'num col-total' }, year))),
    h('tbody', {}, METRICS.map(([key, label, hint]) => h('tr', { dataset: { metric: key } },
      h('th', { scope: 'row', class: 'col-team' }, label, hint ? h('span', { class: 'slug' }, hint) : null),
      months.map((m) => h('td', { class: 'num', dataset: { month: m } },
        key === 'acceptance_rate' ? pct(rows[key] && rows[key][m]) : num(rows[key] && rows[key][m]))),
      h('td', { class: 'num col-total', dataset: { month: 'total' } },
        key === 'acceptance_rate' ? pct(tot(key)) : num(tot(key)))))));

  const tableCard = h('div', { class: 'card' },
    h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Monthly statistics table, scrollable' }, table),
    h('p', { class: 'card__foot' }, `The ${year} column sums the months, takes outstanding at the year's last month and counts distinct contributors over the year.`));

  return {
    el: [tiles, chartCard, tableCard],
    empty,
    after: empty ? null : () => drawChart(canvas, months, rows).catch((e) => {
      chartNote.hidden = false;
      chartNote.replaceChildren(icon('alert'), e.message);
    }),
  };
}

export function teardown() {
  if (chart) { chart.destroy(); chart = null; }
}
