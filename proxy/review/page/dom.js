// Small DOM helpers. Text always goes in as text nodes, never as HTML: values from the API
// (bodies, headers, field names) are shown exactly as they are and can never become markup.

export const doc = globalThis.document;
const { URLSearchParams } = globalThis;

/**
 * Makes an element. `attrs`: `class`, `text`, `on<event>` (a function), `dataset` keys as
 * `data-*`, booleans as present/absent attributes; null and undefined are left out.
 * Children: nodes, strings, numbers, arrays of them; null, undefined and false are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const element = doc.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'text') element.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (value === true) element.setAttribute(key, '');
    else element.setAttribute(key, String(value));
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof globalThis.Node ? child : String(child));
  }
  return parent;
}

/** Replaces all of `parent`'s children. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A link to a hash route: `route('/group', { group: 'catalog' })` is `#/group?group=catalog`. */
export function route(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return `#${path}${text ? `?${text}` : ''}`;
}

/** A fraction (0..1) as a percentage; null as an em dash. */
export function percent(value, digits = 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return '—';
  return `${(value * 100).toFixed(digits)}%`;
}

export function count(value) {
  return typeof value === 'number' ? value.toLocaleString('en-US') : '—';
}

export function ms(value) {
  return typeof value === 'number' ? `${value < 10 ? value.toFixed(1) : Math.round(value)} ms` : '—';
}

/** A <time> with the local date and time, and how long ago in its title. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return h('span', {}, String(iso));
  const text = at.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return h('time', { datetime: at.toISOString(), title: `${ago(at)} (${at.toISOString()})` }, text);
}

export function ago(at) {
  const seconds = Math.round((Date.now() - at.getTime()) / 1000);
  if (seconds < 60) return `${Math.max(seconds, 0)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86_400)} d ago`;
}

/** A JSON value as one short line, for tables. */
export function short(value, max = 120) {
  let text;
  if (value === undefined) text = '(absent)';
  else {
    try {
      text = JSON.stringify(value);
    } catch {
      text = String(value);
    }
    if (text === undefined) text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A status code as a badge: 2xx, 3xx, 4xx, 5xx, or none. */
export function statusBadge(status, testid) {
  const kind = typeof status === 'number' ? `s${String(status)[0]}xx` : 'snone';
  return h('span', { class: `status ${kind}`, 'data-testid': testid }, typeof status === 'number' ? String(status) : 'no response');
}

export function verdictBadge(verdict) {
  return h('span', { class: `verdict v-${String(verdict).replace(/[^a-z_]/gi, '')}`, 'data-testid': 'verdict' }, String(verdict).replace(/_/g, ' '));
}
