// Team drill-down in a modal dialog: the team's numbers for the period and
// its members, each with per-repository counts linking to GitHub searches.
import { h, icon, replace } from '../dom.js';
import { getJSON, periodParams } from '../api.js';
import { num, periodLabel } from '../format.js';
import { avatar, chips, kpis, split, errorBox, emptyBox } from '../components.js';

function countLink(n, href, what, login, repo) {
  if (!n || !href || !/^https?:\/\//.test(href)) return h('span', { class: n ? '' : 'muted' }, num(n));
  return h('a', {
    href, target: '_blank', rel: 'noopener noreferrer', class: 'count-link',
    title: `${what} pull requests of ${login} in ${repo} on GitHub`, dataset: { link: what },
  }, num(n));
}

function member(m) {
  const repos = Array.isArray(m.repos) ? m.repos : [];
  return h('li', { class: 'member', dataset: { login: m.login } },
    h('div', { class: 'member__head' },
      avatar(m.avatar_url, m.login, 40),
      h('div', { class: 'member__who' },
        h('a', { class: 'member__login', href: `https://github.com/${encodeURIComponent(m.login)}`, target: '_blank', rel: 'noopener noreferrer' }, m.login),
        h('span', { class: 'member__repos' }, repos.length === 1 ? '1 repository' : `${repos.length} repositories`)),
      h('dl', { class: 'member__stats' },
        h('div', {}, h('dt', {}, 'Created'), h('dd', { dataset: { col: 'created' } }, num(m.created))),
        h('div', {}, h('dt', {}, 'Merged'), h('dd', { dataset: { col: 'merged' } }, num(m.merged))),
        h('div', {}, h('dt', {}, 'Rejected'), h('dd', { dataset: { col: 'rejected' } }, num(m.rejected))))),
    repos.length ? h('table', { class: 'table table--dense member__table' },
      h('caption', { class: 'sr-only' }, `Pull requests of ${m.login} per repository`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Repository'),
        h('th', { scope: 'col', class: 'num' }, 'Created'),
        h('th', { scope: 'col', class: 'num' }, 'Merged'),
        h('th', { scope: 'col', class: 'num' }, 'Rejected'))),
      h('tbody', {}, repos.map((r) => h('tr', { dataset: { repo: r.repo } },
        h('th', { scope: 'row', class: 'repo' }, String(r.repo).split('/').flatMap((part, i) => (i ? ['/', h('wbr'), part] : [part]))),
        ['created', 'merged', 'rejected'].map((k) => h('td', { class: 'num', dataset: { col: k } },
          countLink(r[k], r.links && r.links[k], k, m.login, r.repo))))))) : null);
}

export class TeamDialog {
  constructor(dialog, body, { onClose }) {
    this.dialog = dialog;
    this.body = body;
    this.key = '';
    this.ctrl = null;
    this.opener = null;
    dialog.addEventListener('close', () => {
      // a queued event: ignore it when the dialog was opened again before
      // it arrived (its new load must not be cancelled)
      if (dialog.open) return;
      if (this.ctrl) this.ctrl.abort();
      this.key = '';
      const back = this.opener && this.opener.isConnected ? this.opener : null;
      this.opener = null;
      onClose(back);
    });
    // A click on the backdrop (the dialog box itself, outside the panel) closes.
    dialog.addEventListener('click', (e) => { if (e.target === dialog) dialog.close(); });
  }

  get isOpen() { return this.dialog.open; }

  show(ctx, opener) {
    const s = ctx.state;
    const params = { ...periodParams(s) };
    const key = `${s.team}?${new URLSearchParams(params)}`;
    if (opener) this.opener = opener;
    if (!this.dialog.open) this.dialog.showModal();
    if (key === this.key) return;
    this.key = key;
    this.load(ctx, s.team, params);
  }

  hide() {
    if (this.dialog.open) this.dialog.close();
  }

  header(title, sub) {
    return h('header', { class: 'drawer__head' },
      h('div', {},
        h('h2', { id: 'team-dialog-title', class: 'drawer__title' }, title),
        sub ? h('p', { class: 'drawer__sub' }, sub) : null),
      h('button', { type: 'button', class: 'btn btn--icon drawer__close', 'aria-label': 'Close', title: 'Close (Esc)',
        onclick: () => this.dialog.close() }, icon('close')));
  }

  async load(ctx, slug, params) {
    if (this.ctrl) this.ctrl.abort();
    const ctrl = this.ctrl = new AbortController();
    const label = periodLabel(ctx.state);
    this.body.dataset.state = 'loading';
    this.body.setAttribute('aria-busy', 'true');
    replace(this.body, this.header(slug, label),
      h('div', { class: 'drawer__content' }, h('p', { role: 'status', class: 'muted' }, 'Loading team…'),
        h('div', { class: 'skeleton' }, Array.from({ length: 5 }, () => h('div', { class: 'skeleton__line' })))));
    this.focusClose();
    try {
      const t = await getJSON(`/api/teams/${encodeURIComponent(slug)}`, params, { signal: ctrl.signal });
      if (ctrl.signal.aborted) return;
      this.render(t, label);
    } catch (e) {
      if (e.name === 'AbortError' || ctrl.signal.aborted) return;
      this.body.dataset.state = 'error';
      replace(this.body, this.header(slug, label),
        h('div', { class: 'drawer__content' }, errorBox(e, () => { this.key = ''; this.show(ctx); })));
      this.focusClose();
    } finally {
      if (this.ctrl === ctrl) this.body.removeAttribute('aria-busy');
    }
  }

  focusClose() {
    const b = this.body.querySelector('.drawer__close');
    if (b) b.focus();
  }

  render(t, fallbackLabel) {
    const members = Array.isArray(t.members) ? t.members : [];
    const label = t.period ? periodLabel(t.period) : fallbackLabel;
    const sorted = [...members].sort((a, b) => (b.merged - a.merged) || (b.created - a.created)
      || String(a.login).localeCompare(String(b.login)));
    this.body.dataset.state = 'ready';
    replace(this.body,
      this.header(t.name || t.slug, `${t.slug} · ${label}${t.rank ? ` · rank ${t.rank}` : ''}`),
      h('div', { class: 'drawer__content' },
        kpis([
          ['created', 'Created', num(t.created)],
          ['merged', 'Merged', num(t.merged)],
          ['rejected', 'Rejected', num(t.rejected)],
          ['open', 'Open', num(t.open)],
          ['points', 'Points', num(t.points)],
        ]),
        h('div', { class: 'drawer__row' },
          h('div', {}, h('h3', { class: 'section-title' }, 'Partner / OSS'), split(t.partner_created, t.oss_created)),
          h('div', {}, h('h3', { class: 'section-title' }, 'Labels of merged PRs'), chips(t.labels, 12))),
        h('h3', { class: 'section-title' }, `Members (${members.length})`),
        members.length ? h('ul', { class: 'members', id: 'team-members' }, sorted.map(member))
          : emptyBox('No members', 'This team has no members in this period.')));
    this.focusClose();
  }
}
