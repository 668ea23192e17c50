// The whole view state lives in the URL query string, so a reload or a
// shared link shows exactly the same view:
//   view    partners | contributors | monthly
//   period  all | month | quarter | year | range, with value= or from=/to=
//   sort    column key, dir asc|desc (partners and contributors tables)
//   team    slug of the team whose drill-down dialog is open
//   filter  team slug limiting the contributors and monthly views
//   year    year of the monthly statistics

export const VIEWS = ['partners', 'contributors', 'monthly'];
export const KINDS = ['all', 'month', 'quarter', 'year', 'range'];

// Columns each table can sort by; `server` ones are passed to the API as
// sort= (so its ranks follow them), the others are sorted in the browser.
export const SORTS = {
  partners: { name: 'text', members: 'num', created: 'num', merged: 'num', rejected: 'num', open: 'num', split: 'num', points: 'num' },
  contributors: { login: 'text', created: 'num', merged: 'num', rejected: 'num' },
};
export const SERVER_SORTS = ['merged', 'created', 'points', 'rejected'];
export const DEFAULT_SORT = 'merged';

const FIELDS = ['view', 'period', 'value', 'from', 'to', 'sort', 'dir', 'filter', 'year', 'team'];

export function defaults() {
  return { view: 'partners', period: 'all', value: '', from: '', to: '', sort: '', dir: '', filter: '', year: '', team: '' };
}

// Team slugs are kept exactly (a slug may hold blanks or any character);
// the other values are trimmed.
const SLUG_FIELDS = ['team', 'filter'];

// Values are taken as given (a malformed value goes to the API, whose 400
// answer is shown); only unknown views and kinds fall back to defaults.
export function parseState(search) {
  const q = new URLSearchParams(search);
  const s = defaults();
  for (const f of FIELDS) {
    const v = q.get(f);
    if (v !== null) s[f] = SLUG_FIELDS.includes(f) ? v.slice(0, 400) : v.trim().slice(0, 200);
  }
  if (!VIEWS.includes(s.view)) s.view = 'partners';
  if (!KINDS.includes(s.period)) s.period = 'all';
  return normalize(s);
}

export function normalize(s) {
  const n = { ...s };
  if (n.period === 'all') { n.value = ''; n.from = ''; n.to = ''; }
  else if (n.period === 'range') n.value = '';
  else { n.from = ''; n.to = ''; }
  const cols = SORTS[n.view];
  if (!cols || !(n.sort in cols)) { n.sort = ''; n.dir = ''; }
  if (n.dir !== 'asc' && n.dir !== 'desc') n.dir = '';
  if (n.view === 'monthly') n.team = '';
  else n.year = '';
  if (n.view === 'partners') n.filter = '';
  return n;
}

export function toSearch(s) {
  const q = new URLSearchParams();
  const d = defaults();
  for (const f of FIELDS) {
    if (s[f] && s[f] !== d[f]) q.set(f, s[f]);
  }
  const str = q.toString();
  return str ? `?${str}` : '';
}

export function sortOf(s) {
  const sort = s.sort || DEFAULT_SORT;
  const type = (SORTS[s.view] || {})[sort] || 'num';
  const dir = s.dir || (type === 'text' ? 'asc' : 'desc');
  return { sort, dir, type, server: SERVER_SORTS.includes(sort) ? sort : undefined };
}
