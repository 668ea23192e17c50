// The JSON API of docs/REFERENCE.md, seen from the browser. Every failure becomes
// an ApiError carrying the HTTP status and the API's {"error": {code,
// message}} so the views can show it (never swallowed).

export class ApiError extends Error {
  constructor(status, code, message, url) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.url = url;
  }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export async function getJSON(path, params, { signal } = {}) {
  const url = path + query(params);
  let res;
  try {
    res = await fetch(url, { signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', `The API could not be reached (${e.message}).`, url);
  }
  const text = await res.text();
  let body;
  try { body = JSON.parse(text); } catch { body = undefined; }
  if (!res.ok) {
    const err = body && body.error;
    throw new ApiError(res.status, (err && err.code) || `http_${res.status}`,
      (err && err.message) || text.trim().slice(0, 300) || res.statusText, url);
  }
  if (body === undefined) {
    throw new ApiError(res.status, 'bad_response', 'The API answered with something that is not JSON.', url);
  }
  return body;
}

// Period query parameters of a view state (docs/REFERENCE.md "Statistics: definitions").
export function periodParams(s) {
  if (s.period === 'range') return { period: 'range', from: s.from, to: s.to };
  if (s.period === 'all') return { period: 'all' };
  return { period: s.period, value: s.value };
}
