// The GitHub double as a GitHub App's home (loaded by server.mjs).
//
// d.app = {id, publicKey, installations: Map(id -> {id, account, revoked, suspended}),
//          tokens: Map(token -> {installation, expiresAt}), ttl, issued: [...], jwts}
// set by enableApp(d, {appId, publicKeyPem, installationId, ttl}). Then, like GitHub:
//   /app..., /orgs/{org}/installation, /repos/{o}/{r}/installation need a JWT
//     (RS256 signature by the App's key, iss = the App id, iat not in the
//     future beyond 60 s of drift, exp in the future and at most 10 minutes
//     after iat); anything else needs a live installation token.
//     Otherwise 401, with GitHub's messages.
//   GET  /orgs/{org}/installation                 -> the installation (404 when none)
//   POST /app/installations/{id}/access_tokens   -> 201 {token, expires_at, ...}
//        (404 for an unknown or deleted installation, 403 when suspended)
//   GET  /app/hook/deliveries, POST /app/hook/deliveries/{id}/attempts: the
//        App's webhook (served by integrity.mjs as a hook of type 'app').
// Control: POST /_control/app {app_id, public_key_pem, installation_id, ttl},
//   POST /_control/app/expire (every token is refused from now on),
//   POST /_control/app/revoke (the installation is deleted), GET /_control/app (counts).
import crypto from 'node:crypto';

function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'); }
function b64urlJson(s) { return JSON.parse(Buffer.from(s, 'base64url').toString('utf8')); }

export function enableApp(d, { appId, publicKeyPem, installationId = 4242, ttl = 3600 }) {
  d.app = { id: Number(appId), publicKey: crypto.createPublicKey(publicKeyPem), ttl: Number(ttl),
    installations: new Map([[Number(installationId), { id: Number(installationId), account: d.orgObj.login,
      revoked: false, suspended: false }]]),
    tokens: new Map(), issued: [], jwts: 0, jwtRejected: 0 };
  return d.app;
}

function needsJwt(p) {
  return p === '/app' || p.startsWith('/app/') || /^\/(orgs\/[^/]+|repos\/[^/]+\/[^/]+|users\/[^/]+)\/installation$/.test(p);
}

// The reason a JWT is refused, or null when it is good.
function jwtProblem(app, jwt) {
  const parts = jwt.split('.');
  if (parts.length !== 3) return 'A JSON web token could not be decoded';
  let head, claims;
  try { head = b64urlJson(parts[0]); claims = b64urlJson(parts[1]); } catch { return 'A JSON web token could not be decoded'; }
  if (head.alg !== 'RS256') return 'A JSON web token could not be decoded';
  const ok = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), app.publicKey,
    Buffer.from(parts[2], 'base64url'));
  if (!ok) return 'A JSON web token could not be decoded';
  const now = Math.floor(Date.now() / 1000);
  if (String(claims.iss) !== String(app.id)) return "'Issuer' claim ('iss') must be an Integer";
  if (!Number.isInteger(claims.iat) || claims.iat > now + 60) return "'Issued at' claim ('iat') must be an Integer representing a time in the past";
  if (!Number.isInteger(claims.exp) || claims.exp <= now) return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  if (claims.exp - claims.iat > 600) return "'Expiration time' claim ('exp') is too far in the future";
  return null;
}

// null when authorized, else {status, body}.
export function appAuth(d, req, u) {
  const app = d.app;
  const m = /^Bearer (.+)$/i.exec(req.headers.authorization || '');
  const deny = (message) => ({ status: 401, body: { message, documentation_url: 'https://docs.github.com/rest' } });
  if (!m) return deny('Requires authentication');
  if (needsJwt(u.pathname)) {
    app.jwts++;
    const why = jwtProblem(app, m[1]);
    if (why) app.jwtRejected++;
    return why ? deny(why) : null;
  }
  const t = app.tokens.get(m[1]);
  const inst = t && app.installations.get(t.installation);
  if (!t || t.expiresAt <= Date.now() || !inst || inst.revoked) return deny('Bad credentials');
  return null;
}

export function appAccepts(method, u) {
  return method === 'POST' && /^\/app\/installations\/\d+\/access_tokens$/.test(u.pathname);
}

export function appRoute(d, method, u) {
  const app = d.app;
  if (!app) return null;
  let m = /^\/orgs\/([^/]+)\/installation$/.exec(u.pathname);
  if (m && method === 'GET') {
    const inst = [...app.installations.values()].find((i) => !i.revoked && i.account.toLowerCase() === decodeURIComponent(m[1]).toLowerCase());
    if (!inst) return { status: 404, body: { message: 'Not Found' } };
    return { body: { id: inst.id, app_id: app.id, account: { login: inst.account, type: 'Organization' },
      target_type: 'Organization', repository_selection: 'selected',
      permissions: { members: 'read', pull_requests: 'read', metadata: 'read' } } };
  }
  m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(u.pathname);
  if (m && method === 'POST') {
    const inst = app.installations.get(Number(m[1]));
    if (!inst || inst.revoked) return { status: 404, body: { message: 'Not Found' } };
    if (inst.suspended) return { status: 403, body: { message: 'This installation has been suspended' } };
    const token = `ghs_${crypto.randomBytes(18).toString('hex')}`;
    const expiresAt = Date.now() + app.ttl * 1000;
    app.tokens.set(token, { installation: inst.id, expiresAt });
    app.issued.push({ installation: inst.id, expires_at: iso(expiresAt) });
    return { status: 201, body: { token, expires_at: iso(expiresAt),
      permissions: { members: 'read', pull_requests: 'read', metadata: 'read' }, repository_selection: 'selected' } };
  }
  return null;
}

export function appControl(d, path, args) {
  switch (path) {
    case '/_control/app':
      if (args.public_key_pem) enableApp(d, { appId: args.app_id, publicKeyPem: args.public_key_pem,
        installationId: args.installation_id, ttl: args.ttl });
      return d.app ? { tokens_issued: d.app.issued.length, jwts: d.app.jwts, jwt_rejected: d.app.jwtRejected } : null;
    case '/_control/app/expire':
      for (const t of d.app.tokens.values()) t.expiresAt = 0;
      return { ok: true };
    case '/_control/app/revoke':
      for (const i of d.app.installations.values()) i.revoked = true;
      return { ok: true };
    default: return undefined;
  }
}
