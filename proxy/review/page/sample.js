// One stored comparison: the request, both responses side by side, the body diff highlighted by
// jsondiffpatch, the differences that counted, the ones the group's rules hid, and replay curls.
import { create } from 'jsondiffpatch/with-text-diffs';
import { format, showUnchanged } from 'jsondiffpatch/formatters/html';
import { api } from './api.js';
import { doc, h, ms, route, short, statusBadge, time, verdictBadge } from './dom.js';

/** Bodies up to this many pretty-printed lines show every unchanged field too; longer ones hide them until asked. */
const SHORT_BODY_LINES = 40;
/** A raw body in a side's panel starts open only when it is this short. */
const OPEN_RAW_LINES = 20;
/** Raw text shown at most, per side; past it a line says how much was left out. */
const RAW_CHARS = 200_000;

const differ = create({
  // Arrays of JSON:API resources match by type and id, so an inserted item is one addition, not a cascade.
  objectHash: (item, index) => (item && typeof item === 'object' && 'id' in item ? `${item.type ?? ''}:${String(item.id)}` : `#${index}`),
  arrays: { detectMove: true, includeValueOnMove: false },
  textDiff: { minLength: 60 },
});

function pretty(side) {
  if (side.bodyEncoding === 'json') return JSON.stringify(side.body, null, 2) ?? 'null';
  if (side.body === null || side.body === undefined) return '';
  return typeof side.body === 'string' ? side.body : JSON.stringify(side.body, null, 2);
}

function lines(text) {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) n += 1;
  return n;
}

function kb(text) {
  const bytes = new globalThis.TextEncoder().encode(text).length;
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}

/** The header names a list of differences names (paths `/headers/<name>`). */
function headerNames(differences) {
  const names = new Set();
  for (const d of differences ?? []) if (d.path.startsWith('/headers/')) names.add(decodePointer(d.path)[1]?.toLowerCase());
  return names;
}

function headersList(headers, testid, diff) {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return h('p', { class: 'muted' }, 'no headers recorded');
  const changed = headerNames(diff?.differences.filter((d) => !d.noise));
  const hidden = headerNames([...(diff?.hidden ?? []), ...(diff?.differences.filter((d) => d.noise) ?? [])]);
  return h('dl', { class: 'headers', 'data-testid': testid }, entries.map(([name, value]) => {
    const state = changed.has(name.toLowerCase()) ? 'changed' : hidden.has(name.toLowerCase()) ? 'set-aside' : null;
    return [
      h('dt', { class: state }, name, state === 'changed' ? h('span', { class: 'tag warn inline-end' }, 'differs') : null),
      h('dd', { class: state }, Array.isArray(value) ? value.join(', ') : String(value)),
    ];
  }));
}

function rawBody(side, name) {
  if (side.bodyEncoding === 'none' || side.body === null || side.body === undefined) return h('p', { class: 'muted', 'data-testid': `${name}-body` }, 'no body');
  const text = pretty(side);
  const shown = text.length > RAW_CHARS ? `${text.slice(0, RAW_CHARS)}\n… ${(text.length - RAW_CHARS).toLocaleString('en-US')} more characters` : text;
  const count = lines(text);
  const what = side.bodyEncoding === 'base64' ? 'binary body (base64)' : side.bodyEncoding === 'text' ? 'text body' : 'JSON body';
  return h('details', { class: 'raw', open: count <= OPEN_RAW_LINES, 'data-testid': `${name}-body` },
    h('summary', {}, `${what}: ${count.toLocaleString('en-US')} line${count === 1 ? '' : 's'}, ${kb(text)}`, side.truncated ? ' (truncated when captured)' : ''),
    h('pre', { class: 'code', tabindex: '0' }, shown));
}

function sidePanel(side, name, diff) {
  const primary = diff.primarySide === name;
  const otherStatus = (name === 'legacy' ? diff.new : diff.legacy)?.status;
  const differing = headerNames(diff.differences?.filter((d) => !d.noise)).size;
  return h('section', { class: `side side-${name}${primary ? ' primary' : ''}`, 'data-testid': `side-${name}`, 'aria-labelledby': `side-${name}` },
    h('header', { class: 'side-head' },
      h('h3', { id: `side-${name}` }, name === 'legacy' ? 'Legacy' : 'New'),
      statusBadge(side.status, `${name}-status`),
      side.status !== otherStatus ? h('span', { class: 'tag warn' }, 'status differs') : null,
      primary ? h('span', { class: 'tag', title: 'this side answered the client; the other was the shadow' }, 'served the client') : h('span', { class: 'tag muted' }, 'shadow'),
      h('span', { class: 'ms', 'data-testid': `${name}-ms` }, ms(side.ms))),
    side.failure ? h('p', { class: 'error', 'data-testid': `${name}-failure` }, side.failure) : null,
    side.truncated ? h('p', { class: 'note' }, 'The body was truncated when captured: differences past the cut are not known.') : null,
    h('details', { class: 'headers-box', open: differing > 0 }, h('summary', {}, `Headers (${Object.keys(side.headers ?? {}).length}${differing ? `, ${differing} differ` : ''})`), headersList(side.headers, `${name}-headers`, { differences: diff.differences ?? [], hidden: diff.hidden ?? [] })),
    rawBody(side, name));
}

function decodePointer(pointer) {
  if (pointer === '' || pointer === '/') return [];
  return pointer.replace(/^\//, '').split('/').map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The element jsondiffpatch drew for a JSON pointer, or null when the tree does not show it. */
function nodeAt(root, pointer) {
  let node = root;
  for (const key of decodePointer(pointer)) {
    const list = [...node.children].find((child) => child.tagName === 'UL');
    if (!list) return null;
    const next = [...list.children].find((child) => child.dataset.key === key || child.dataset.key === `_${key}`);
    if (!next) return null;
    node = next;
  }
  return node;
}

function mark(root, difference, className, label, title) {
  const node = nodeAt(root, difference.path);
  if (!node) return;
  node.classList.add(className);
  node.title = title;
  const tag = h('span', { class: 'tag inline' }, label);
  const name = [...node.children].find((child) => child.classList.contains('jsondiffpatch-property-name'));
  if (name) name.before(tag);
  else node.prepend(tag);
}

function bodyDiff(diff) {
  const { legacy, new: next } = diff;
  const diffable = (side) => side.bodyEncoding === 'json' || side.bodyEncoding === 'text';
  const section = h('section', { class: 'card', 'aria-labelledby': 'body-diff-title' }, h('h2', { id: 'body-diff-title' }, 'Body differences'));
  if (!diffable(legacy) || !diffable(next)) {
    section.append(h('p', { class: 'muted', 'data-testid': 'body-diff-none' }, `The bodies are ${legacy.bodyEncoding} and ${next.bodyEncoding}: only JSON and text bodies are diffed here; both are shown above.`));
    return section;
  }
  let delta;
  try {
    delta = differ.diff(legacy.body, next.body);
  } catch (error) {
    section.append(h('p', { class: 'error' }, `could not diff the bodies: ${error.message}`));
    return section;
  }
  if (delta === undefined) {
    section.append(h('p', { class: 'muted', 'data-testid': 'body-diff-none' }, 'The two bodies are identical.'));
    return section;
  }
  if (Array.isArray(delta) && delta.length === 2 && [legacy.body, next.body].some((body) => body !== null && typeof body === 'object')) {
    // One body replaced whole (JSON against text, an object against null): a struck-out copy of
    // all of it says nothing the two bodies above do not.
    section.append(h('p', { class: 'muted', 'data-testid': 'body-diff-none' }, 'The bodies differ as a whole (not the same kind of value): compare them side by side above.'));
    return section;
  }
  const tree = h('div', { class: 'diff-tree', 'data-testid': 'body-diff' });
  // jsondiffpatch's HTML formatter escapes every key and value it writes.
  tree.innerHTML = format(delta, legacy.body) ?? '';
  const root = tree.querySelector('.jsondiffpatch-delta');
  if (root) {
    for (const difference of diff.hidden ?? []) mark(root, difference, 'cv-hidden', 'ignored', `hidden by the rule ${difference.rule}`);
    for (const difference of diff.differences ?? []) if (difference.noise) mark(root, difference, 'cv-noise', 'noise', 'noise: differs between two calls to the same side too');
  }
  const long = lines(pretty(legacy)) > SHORT_BODY_LINES || lines(pretty(next)) > SHORT_BODY_LINES;
  const toggle = h('input', { type: 'checkbox', id: 'show-unchanged', 'data-testid': 'show-unchanged', checked: !long });
  toggle.addEventListener('change', () => showUnchanged(toggle.checked, tree));
  showUnchanged(!long, tree);
  section.append(
    h('p', { class: 'legend' },
      h('span', { class: 'key removed' }, 'legacy'), ' → ', h('span', { class: 'key added' }, 'new'),
      ' · ', h('label', { for: 'show-unchanged' }, toggle, ' show unchanged fields')),
    tree);
  return section;
}

/** A difference's value on one side; an added member has no legacy value, a removed one no new value (JSON says null). */
function value(d, side) {
  if ((side === 'legacy' && d.kind === 'added') || (side === 'new' && d.kind === 'removed')) return h('span', { class: 'muted' }, '(absent)');
  return h('code', { class: 'value' }, short(d[side]));
}

function differencesTable(diff) {
  const rows = diff.differences ?? [];
  const section = h('section', { class: 'card', 'aria-labelledby': 'differences-title' }, h('h2', { id: 'differences-title' }, `Differences (${rows.length})`));
  if (rows.length === 0) {
    section.append(h('p', { class: 'muted', 'data-testid': 'no-differences' }, 'No differences counted.'));
    return section;
  }
  section.append(h('table', { class: 'grid', 'data-testid': 'differences' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Path'), h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Legacy'), h('th', { scope: 'col' }, 'New'))),
    h('tbody', {}, rows.map((d) => h('tr', { 'data-testid': 'difference', 'data-path': d.path, class: d.noise ? 'is-noise' : null },
      h('th', { scope: 'row' }, h('code', {}, d.path), d.field && d.field !== d.path ? h('span', { class: 'muted small' }, ` (field ${d.field})`) : null, d.noise ? h('span', { class: 'tag' }, 'noise') : null),
      h('td', {}, d.kind),
      h('td', { class: 'removed-cell' }, value(d, 'legacy')),
      h('td', { class: 'added-cell' }, value(d, 'new')))))));
  return section;
}

function hiddenTable(diff) {
  const rows = diff.hidden ?? [];
  if (rows.length === 0) return null;
  return h('section', { class: 'card hidden-differences', 'aria-labelledby': 'hidden-title' },
    h('h2', { id: 'hidden-title' }, `Hidden by the group's rules (${rows.length})`),
    h('p', { class: 'muted' }, 'These differ too, but a rule of the group says to ignore them: they did not count toward the verdict.'),
    h('table', { class: 'grid is-hidden', 'data-testid': 'hidden-differences' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Path'), h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Legacy'), h('th', { scope: 'col' }, 'New'), h('th', { scope: 'col' }, 'Hidden by'))),
      h('tbody', {}, rows.map((d) => h('tr', { 'data-testid': 'hidden-difference', 'data-path': d.path },
        h('th', { scope: 'row' }, h('code', {}, d.path)),
        h('td', {}, d.kind),
        h('td', {}, value(d, 'legacy')),
        h('td', {}, value(d, 'new')),
        h('td', { 'data-testid': 'hidden-rule' }, h('code', {}, d.rule)))))));
}

async function copyText(text) {
  try {
    await globalThis.navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard API (a page not served over https or loopback): the old way, through a selection.
    const area = h('textarea', { class: 'offscreen', readonly: true }, text);
    doc.body.append(area);
    area.select();
    const copied = doc.execCommand('copy');
    area.remove();
    return copied;
  }
}

export function toast(text) {
  const box = doc.getElementById('toast');
  box.textContent = text;
  box.classList.add('shown');
  globalThis.clearTimeout(toast.timer);
  toast.timer = globalThis.setTimeout(() => box.classList.remove('shown'), 2500);
}

function replay(diff) {
  const block = (name, label) => {
    const command = diff.replay?.[name];
    if (!command) return null;
    const pre = h('pre', { class: 'code curl', 'data-testid': `replay-${name}`, tabindex: '0' }, command);
    const button = h('button', { type: 'button', class: 'copy', 'data-testid': `copy-${name}`, 'aria-label': `Copy the ${label} curl command` }, 'Copy');
    button.addEventListener('click', async () => {
      const done = await copyText(command);
      toast(done ? `Copied the ${label} curl command` : 'Could not copy: select the text and copy it by hand');
    });
    return h('div', { class: 'replay-item' }, h('div', { class: 'replay-head' }, h('h3', {}, label), button), pre);
  };
  const caveats = diff.replay?.caveats ?? [];
  return h('section', { class: 'card', 'aria-labelledby': 'replay-title' },
    h('h2', { id: 'replay-title' }, 'Replay'),
    h('p', { class: 'muted' }, 'The same request against each side, as curl commands.'),
    caveats.length ? h('ul', { class: 'caveats', 'data-testid': 'replay-caveats' }, caveats.map((caveat) => h('li', {}, caveat))) : null,
    h('div', { class: 'replay' }, block('legacy', 'legacy'), block('new', 'new')));
}

function requestSummary(diff) {
  const r = diff.request ?? {};
  const query = r.query && typeof r.query === 'object'
    ? new globalThis.URLSearchParams(Object.entries(r.query).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, String(v)]]))).toString()
    : String(r.query ?? '').replace(/^\?/, '');
  const fact = (label, content, testid) => [h('dt', {}, label), h('dd', { 'data-testid': testid }, content ?? h('span', { class: 'muted' }, '—'))];
  return h('section', { class: 'card', 'aria-labelledby': 'request-title', 'data-testid': 'request' },
    h('h2', { id: 'request-title' }, 'Request'),
    h('dl', { class: 'facts' },
      fact('Request', h('code', {}, `${r.method ?? diff.method ?? ''} ${r.path ?? ''}${query ? `?${query}` : ''}`), 'request-line'),
      fact('Route', h('code', {}, diff.route), 'request-route'),
      fact('Request id', r.requestId ? h('code', {}, r.requestId) : null, 'request-id'),
      fact('Caller', r.caller ? h('code', {}, r.caller) : null, 'request-caller'),
      fact('Stage', diff.stage, 'request-stage'),
      fact('Flag rule', r.rule ? `${r.rule}${r.variation ? ` → ${r.variation}` : ''}` : r.variation, 'request-rule'),
      fact('When', time(diff.at), 'request-at')),
    h('details', { class: 'headers-box' }, h('summary', {}, `Request headers (${Object.keys(r.headers ?? {}).length})`), headersList(r.headers, 'request-headers')),
    r.body && r.body.bodyEncoding && r.body.bodyEncoding !== 'none' ? rawBody(r.body, 'request') : null);
}

export async function sampleView(params) {
  const id = params.get('id');
  if (!id) throw new Error('the address names no sample');
  const diff = await api.diff(id);
  const group = params.get('group') || diff.group;
  const field = params.get('field');
  const crumbs = [{ text: group, href: route('/group', { group }) }];
  if (field) crumbs.push({ text: field, href: route('/field', { group, route: params.get('route') || diff.route, field }) });
  crumbs.push({ text: `sample ${id}` });
  return {
    title: `Sample ${id}`,
    crumbs,
    content: [
      h('div', { class: 'page-head' },
        h('h1', {}, 'Sample ', h('code', { 'data-testid': 'sample-id' }, id)),
        verdictBadge(diff.verdict),
        diff.reason ? h('span', { class: 'reason', 'data-testid': 'reason' }, diff.reason) : null),
      requestSummary(diff),
      h('div', { class: 'sides', 'data-testid': 'sides' }, sidePanel(diff.legacy ?? {}, 'legacy', diff), sidePanel(diff.new ?? {}, 'new', diff)),
      bodyDiff({ ...diff, legacy: diff.legacy ?? {}, new: diff.new ?? {} }),
      differencesTable(diff),
      hiddenTable(diff),
      replay(diff),
    ],
  };
}
