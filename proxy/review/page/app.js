// The report page: hash routes over the review API, rendered with plain DOM calls.
//   #/                                  groups (?window=1h|24h|7d)
//   #/group?group=G[&route=R]           one group: routes, differing fields
//   #/field?group=G&route=R&field=F     the samples of one field
//   #/diff?id=ID[&group&route&field]    one sample
import { doc, h, replace } from './dom.js';
import { sampleView } from './sample.js';
import { fieldView, groupView, groupsView, sizeBars } from './views.js';

const { URLSearchParams } = globalThis;

const VIEWS = {
  '/': groupsView,
  '/group': groupView,
  '/field': fieldView,
  '/diff': sampleView,
};

function parseHash() {
  const hash = globalThis.location.hash.replace(/^#/, '') || '/';
  const at = hash.indexOf('?');
  const path = at === -1 ? hash : hash.slice(0, at);
  return { path: path || '/', params: new URLSearchParams(at === -1 ? '' : hash.slice(at + 1)) };
}

function crumbs(items) {
  const list = doc.getElementById('crumbs');
  const all = [{ text: 'Groups', href: '#/' }, ...items];
  replace(list, all.map((item, index) => h('li', {},
    index === all.length - 1
      ? h('span', { 'aria-current': 'page' }, item.text)
      : h('a', { href: item.href }, item.text))));
}

function errorBox(error) {
  const message = (error && error.message ? error.message : String(error)).split('\n')[0];
  return h('div', { class: 'error-box', role: 'alert', 'data-testid': 'error' },
    h('p', { class: 'error-title' }, 'Could not load this view'),
    h('p', { class: 'error', 'data-testid': 'error-message' }, message),
    h('p', {}, h('a', { href: globalThis.location.hash || '#/', onclick: (event) => { event.preventDefault(); render(); } }, 'Try again'), ' · ', h('a', { href: '#/' }, 'All groups')));
}

let generation = 0;
let first = true;

async function render() {
  const mine = ++generation;
  const main = doc.getElementById('main');
  const { path, params } = parseHash();
  const view = VIEWS[path];
  main.setAttribute('aria-busy', 'true');
  // The old view stays while the new one loads, dimmed, and a line says so: no blank flash between views.
  main.classList.add('is-loading');
  let indicator = main.querySelector('[data-testid="loading"]');
  if (!indicator) {
    indicator = h('p', { class: 'loading', 'data-testid': 'loading', role: 'status' }, 'Loading…');
    main.prepend(indicator);
  }
  try {
    if (!view) throw new Error(`no such page: #${path}`);
    const result = await view(params);
    if (mine !== generation) return;
    doc.title = `${result.title} · Cutover report`;
    crumbs(result.crumbs);
    replace(main, result.content);
    sizeBars(main);
  } catch (error) {
    if (mine !== generation) return;
    doc.title = 'Error · Cutover report';
    crumbs([{ text: 'error' }]);
    replace(main, errorBox(error));
  } finally {
    if (mine === generation) {
      main.classList.remove('is-loading');
      main.removeAttribute('aria-busy');
      // Keyboard and screen-reader users land on the new view, not on the link they left.
      if (!first) main.querySelector('h1')?.setAttribute('tabindex', '-1');
      if (!first) main.querySelector('h1')?.focus({ preventScroll: false });
      if (!first) globalThis.scrollTo(0, 0);
      first = false;
    }
  }
}

globalThis.addEventListener('hashchange', render);
render();
