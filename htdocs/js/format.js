// Formatting of numbers, periods and label colours (UTC, English).

const nf = new Intl.NumberFormat('en-US');
export const num = (n) => (n === null || n === undefined ? '—' : nf.format(n));
export const pct = (n) => (n === null || n === undefined ? '—' : `${n}%`);

export const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July',
  'August', 'September', 'October', 'November', 'December'];

export function monthName(ym, short = false) {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(ym || '');
  if (!m) return ym || '';
  const name = MONTHS[Number(m[2]) - 1] || m[2];
  return short ? name.slice(0, 3) : `${name} ${m[1]}`;
}

export function dateLabel(d) {
  const m = /^(\d{4})-(0[1-9]|1[0-2])-(\d{2})$/.exec(d || '');
  if (!m) return d || '';
  return `${Number(m[3])} ${MONTHS[Number(m[2]) - 1].slice(0, 3)} ${m[1]}`;
}

// p: {kind, value, from, to} as the API echoes it, or a view state.
export function periodLabel(p) {
  const kind = p.kind || p.period;
  switch (kind) {
    case 'month': return monthName(p.value);
    case 'quarter': {
      const m = /^(\d{4})-Q([1-4])$/.exec(p.value || '');
      if (!m) return p.value;
      const q = Number(m[2]);
      return `Q${q} ${m[1]} (${MONTHS[q * 3 - 3].slice(0, 3)}–${MONTHS[q * 3 - 1].slice(0, 3)})`;
    }
    case 'year': return p.value;
    case 'range': return `${dateLabel(p.from)} – ${dateLabel(p.to)}`;
    default: return 'All time';
  }
}

export function periodSlug(s) {
  if (s.period === 'range') return `${s.from}_${s.to}`;
  if (s.period === 'all') return 'all-time';
  return s.value;
}

export function labelColor(c) {
  return /^[0-9a-fA-F]{6}$/.test(c || '') ? `#${c}` : '#d0d7de';
}

// Black or white text on a label, by relative luminance (like GitHub).
export function labelText(c) {
  const hex = labelColor(c).slice(1);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return l > 0.4 ? '#1f2328' : '#ffffff';
}

// First and last day of a month/quarter/year value (YYYY-MM-DD, UTC).
export function periodBounds(kind, value) {
  let y, m0, m1;
  let m;
  if (kind === 'month' && (m = /^(\d{4})-(\d{2})$/.exec(value))) { y = +m[1]; m0 = m1 = +m[2]; }
  else if (kind === 'quarter' && (m = /^(\d{4})-Q([1-4])$/.exec(value))) { y = +m[1]; m0 = +m[2] * 3 - 2; m1 = m0 + 2; }
  else if (kind === 'year' && (m = /^(\d{4})$/.exec(value))) { y = +m[1]; m0 = 1; m1 = 12; }
  else return null;
  const last = new Date(Date.UTC(y, m1, 0)).getUTCDate();
  const pad = (n) => String(n).padStart(2, '0');
  return { from: `${y}-${pad(m0)}-01`, to: `${y}-${pad(m1)}-${pad(last)}` };
}
