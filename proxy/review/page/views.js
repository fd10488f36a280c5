// The list views: all groups, one group (its routes and differing fields), one field (its samples).
import { api } from './api.js';
import { count, h, ms, percent, route, statusBadge, time, verdictBadge } from './dom.js';

export const WINDOWS = ['1h', '24h', '7d'];

/** A match rate with a bar; green when every compared request matched, red below 95%. */
function matchRate(rate, comparisons, testid = 'match-rate') {
  const level = rate === null || rate === undefined ? 'none' : rate >= 0.999 ? 'good' : rate >= 0.95 ? 'fair' : 'poor';
  return h('div', { class: `rate rate-${level}` },
    h('span', { class: 'rate-value', 'data-testid': testid }, percent(rate)),
    rate === null || rate === undefined ? null : h('span', { class: 'bar', 'aria-hidden': 'true' }, h('span', { class: 'bar-fill', 'data-width': Math.round(rate * 100) })),
    comparisons ? h('span', { class: 'rate-detail' }, comparisonCounts(comparisons)) : null);
}

function comparisonCounts(c) {
  if (!c || !c.total) return 'no comparisons yet';
  return `${count(c.total)} compared: ${count(c.match)} match, ${count(c.mismatch)} mismatch, ${count(c.noise)} noise, ${count(c.error)} error`;
}

/** Sets the width of every bar from its data attribute: the CSP allows no inline style attributes of ours. */
export function sizeBars(root) {
  for (const fill of root.querySelectorAll('.bar-fill[data-width]')) fill.style.width = `${Number(fill.dataset.width)}%`;
}

function readiness(r) {
  if (!r) return null;
  return h('div', { class: 'readiness', 'data-testid': 'readiness' },
    h('p', {}, h('span', { class: 'label' }, 'Readiness '), verdictBadge(r.verdict)),
    r.reasons?.length ? h('ul', { class: 'checks' }, r.reasons.map((reason) => h('li', {
      class: reason.ok ? 'ok' : 'not-ok', 'data-testid': 'readiness-reason', 'data-check': reason.check,
    }, h('span', { class: 'mark', 'aria-hidden': 'true' }, reason.ok ? '✓' : '✗'), h('span', { class: 'sr-only' }, reason.ok ? 'passed: ' : 'failed: '), reason.text))) : null);
}

/** The stage badge: the override when one forces the group (it wins over the split), else the flag's split now. */
function stage(group) {
  const current = group.current;
  const forced = current?.override?.stage ?? group.override ?? null;
  if (forced) return h('span', { class: 'stage override', 'data-testid': 'stage', title: 'forced by an override: it wins over the flag\'s split' }, `override: ${forced}`);
  return h('span', { class: 'stage', 'data-testid': 'stage', title: `the split of the flag ${group.flag}` }, current ? current.splitText : 'stage by flag');
}

/** The stage as the fleet serves it now: the flag's rule and split, the datafile revision, and any override with who set it and why. */
function currentStage(group) {
  const current = group.current;
  if (!current) return null;
  const override = current.override;
  return h('dl', { class: 'facts', 'data-testid': 'current-stage' },
    h('dt', {}, 'Split now'), h('dd', { 'data-testid': 'split' }, current.splitText,
      override ? h('span', { class: 'overridden', 'data-testid': 'split-overridden' }, ` (not served: the override to ${override.stage} wins)`) : null),
    h('dt', {}, 'Rule'), h('dd', {}, current.rule ? h('code', {}, current.rule) : '—'),
    h('dt', {}, 'Datafile'), h('dd', { 'data-testid': 'revision' }, current.revision === null ? 'none applied yet' : `revision ${current.revision}, applied ${time(current.appliedAt)}`),
    override ? [h('dt', {}, 'Override'), h('dd', { 'data-testid': 'override' }, `${override.stage}, set by ${override.actor ?? 'unknown'}${override.reason ? `: ${override.reason}` : ''}${override.at ? ` (${time(override.at)})` : ''}`)] : null);
}

/** One change of a group's stage, as the timeline lists it. */
function change(event) {
  const who = event.kind === 'datafile' ? `datafile revision ${event.revision}` : `by ${event.actor}`;
  return h('li', { 'data-testid': 'stage-change', 'data-kind': event.kind, class: event.actor === 'guard' ? 'guard' : null },
    h('span', { class: 'when' }, time(event.at)), ' ',
    h('span', { class: 'move', 'data-testid': 'stage-move' }, `${event.from ?? '—'} → ${event.to}`), ' ',
    h('span', { class: 'who', 'data-testid': 'stage-who' }, who),
    event.reason ? h('span', { class: 'why', 'data-testid': 'stage-why' }, ` · ${event.reason}`) : null);
}

/** The group's stage changes, newest first: datafile revisions that changed its split, overrides set and cleared (the guard's too). */
function timeline(group) {
  if (group.changes === undefined) return null;
  return h('section', { class: 'timeline', 'data-testid': 'timeline' },
    h('h2', {}, 'Stage changes'),
    group.changes === null
      ? h('p', { class: 'empty' }, 'The stage history is kept in the diff store, which is off or does not answer.')
      : group.changes.length === 0
        ? h('p', { class: 'empty' }, 'No stage change recorded yet.')
        : h('ol', { class: 'changes' }, group.changes.map(change)));
}

function traffic(requests) {
  if (!requests) return null;
  const byStage = requests.byStage ?? {};
  const servedBy = requests.servedBy ?? {};
  return h('dl', { class: 'facts', 'data-testid': 'traffic' },
    h('dt', {}, 'Requests'), h('dd', {}, count(requests.total)),
    h('dt', {}, 'By stage'), h('dd', {}, Object.entries(byStage).map(([name, n]) => `${name} ${count(n)}`).join(' · ') || '—'),
    h('dt', {}, 'Served by'), h('dd', {}, `legacy ${count(servedBy.legacy)} · new ${count(servedBy.new)}`));
}

function health(group) {
  const latency = (side) => (side ? `p50 ${ms(side.p50Ms)} · p99 ${ms(side.p99Ms)}` : '—');
  const skipped = Object.entries(group.skippedShadows ?? {});
  const lost = lostText(group.lostEvidence);
  return h('dl', { class: 'facts' },
    h('dt', {}, 'Latency legacy'), h('dd', {}, latency(group.latency?.legacy)),
    h('dt', {}, 'Latency new'), h('dd', {}, latency(group.latency?.new)),
    h('dt', {}, 'Error rate'), h('dd', {}, `legacy ${percent(group.errorRate?.legacy, 2)} · new ${percent(group.errorRate?.new, 2)}`),
    skipped.length ? [h('dt', {}, 'Shadows skipped'), h('dd', {}, skipped.map(([reason, n]) => `${reason.replace(/_/g, ' ')} ${count(n)}`).join(' · '))] : null,
    lost ? [h('dt', {}, 'Evidence lost'), h('dd', { 'data-testid': 'lost-evidence' }, lost)] : null);
}

/** Comparisons made whose records were not kept, by reason; '' when none. */
function lostText(lost) {
  return Object.entries(lost ?? {}).filter(([, n]) => n > 0).map(([reason, n]) => `${reason.replace(/_/g, ' ')} ${count(n)}`).join(' · ');
}

function groupSummary(group, params, linked) {
  return h('section', { class: 'card group', 'data-testid': 'group-card', 'data-group': group.name, 'aria-labelledby': `g-${group.name}` },
    h('header', { class: 'card-head' },
      h(linked ? 'h2' : 'h1', { id: `g-${group.name}` }, linked
        ? h('a', { href: route('/group', { group: group.name, window: params.get('window') }), 'data-testid': 'group-link' }, group.name)
        : group.name),
      h('span', { class: 'flag' }, 'flag ', h('code', {}, group.flag)),
      stage(group)),
    h('div', { class: 'card-body' },
      h('div', {}, h('p', { class: 'label' }, 'Match rate'), matchRate(group.matchRate, group.comparisons)),
      readiness(group.readiness),
      linked ? null : currentStage(group),
      traffic(group.requests),
      health(group)));
}

function windowPicker(current, path, extra = {}) {
  return h('nav', { class: 'window', 'aria-label': 'Time window' },
    h('span', { class: 'label' }, 'Window '),
    WINDOWS.map((w) => h('a', { href: route(path, { ...extra, window: w }), 'aria-current': w === current ? 'page' : null }, w)));
}

/** A line when the diff store is off or failing: then there is no evidence to show, and the reviewer should know why. */
export function storeNotice(data) {
  if (data.store === undefined || data.store === 'up') return null;
  const text = data.store === 'off' ? 'The diff store is off (store.enabled: false): no match rates, fields or samples are kept.' : `The diff store is unavailable: ${data.store}`;
  return h('p', { class: 'error-box', role: 'status', 'data-testid': 'store-notice' }, text);
}

export async function groupsView(params) {
  const window = params.get('window') || '24h';
  const data = await api.groups(window);
  const groups = data.groups ?? [];
  return {
    title: 'Groups',
    crumbs: [],
    content: [
      h('div', { class: 'page-head' },
        h('h1', {}, 'Groups'),
        windowPicker(data.window ?? window, '/')),
      storeNotice(data),
      groups.length === 0
        ? h('p', { class: 'empty', 'data-testid': 'empty' }, 'No groups are configured.')
        : h('div', { class: 'cards', 'data-testid': 'groups' }, groups.map((group) => groupSummary(group, params, true))),
    ],
  };
}

function routesTable(group, params) {
  const selected = params.get('route');
  const rows = group.routes ?? [];
  if (rows.length === 0) return h('p', { class: 'empty' }, 'This group has no routes.');
  return h('table', { class: 'grid', 'data-testid': 'routes' },
    h('caption', {}, 'Routes'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Route'), h('th', { scope: 'col' }, 'Match rate'), h('th', { scope: 'col', class: 'num' }, 'Compared'), h('th', { scope: 'col', class: 'num' }, 'Mismatch'), h('th', { scope: 'col', class: 'num' }, 'Noise'), h('th', { scope: 'col', class: 'num' }, 'Error'))),
    h('tbody', {}, rows.map((r) => h('tr', { 'data-testid': 'route-row', 'data-route': r.route, class: r.route === selected ? 'selected' : null },
      h('th', { scope: 'row' }, h('a', { href: route('/group', { group: group.name, route: r.route, window: params.get('window') }), 'aria-current': r.route === selected ? 'true' : null }, h('code', {}, r.route))),
      h('td', {}, matchRate(r.matchRate, null, 'route-match-rate')),
      h('td', { class: 'num' }, count(r.comparisons?.total)),
      h('td', { class: 'num' }, count(r.comparisons?.mismatch)),
      h('td', { class: 'num' }, count(r.comparisons?.noise)),
      h('td', { class: 'num' }, count(r.comparisons?.error))))));
}

function fieldsTable(fields, group, selectedRoute) {
  const groupName = group.name;
  if (fields.length === 0) {
    // Mismatches counted with none stored means their records were lost: say so rather than "every response matched".
    const counts = selectedRoute ? group.routes?.find((r) => r.route === selectedRoute)?.comparisons : group.comparisons;
    const differing = (counts?.mismatch ?? 0) + (counts?.noise ?? 0);
    if (differing > 0) {
      const lost = lostText(selectedRoute ? group.routes?.find((r) => r.route === selectedRoute)?.lost : group.lostEvidence);
      return h('p', { class: 'empty', 'data-testid': 'no-fields' }, `${count(differing)} differing comparisons counted, none stored${lost ? `: evidence lost (${lost})` : ''}.`);
    }
    return h('p', { class: 'empty', 'data-testid': 'no-fields' }, selectedRoute ? `No differing fields on ${selectedRoute}.` : 'No differing fields: every compared response matched.');
  }
  return h('table', { class: 'grid', 'data-testid': 'fields' },
    h('caption', {}, 'Fields that differ, most often first'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Route'), h('th', { scope: 'col', class: 'num' }, 'Count'), h('th', { scope: 'col' }, 'First seen'), h('th', { scope: 'col' }, 'Last seen'))),
    h('tbody', {}, fields.map((f) => h('tr', { 'data-testid': 'field-row', 'data-field': f.field, 'data-route': f.route, class: f.noise ? 'is-noise' : null },
      h('th', { scope: 'row' },
        h('a', { href: route('/field', { group: groupName, route: f.route, field: f.field }), 'data-testid': 'field-link' }, h('code', {}, f.field)),
        f.noise ? h('span', { class: 'tag', title: 'differs between two calls to the same side too: not counted as a mismatch' }, 'noise') : null),
      h('td', {}, h('code', {}, f.route)),
      h('td', { class: 'num', 'data-testid': 'field-count' }, count(f.count)),
      h('td', {}, time(f.firstSeen)),
      h('td', {}, time(f.lastSeen))))));
}

export async function groupView(params) {
  const name = params.get('group');
  if (!name) throw new Error('no group named in the address');
  const selectedRoute = params.get('route') || null;
  const [groups, fields] = await Promise.all([api.groups(params.get('window') || '24h'), api.fields(name, selectedRoute)]);
  const group = (groups.groups ?? []).find((g) => g.name === name);
  if (!group) throw new Error(`no group named "${name}"`);
  return {
    title: name,
    crumbs: [{ text: name }],
    content: [
      storeNotice(groups),
      groupSummary(group, params, false),
      timeline(group),
      routesTable(group, params),
      h('section', { class: 'fields' },
        h('div', { class: 'page-head' },
          h('h2', {}, 'Differing fields', selectedRoute ? [' on ', h('code', {}, selectedRoute)] : null),
          selectedRoute ? h('a', { href: route('/group', { group: name, window: params.get('window') }) }, 'all routes') : null),
        fieldsTable(fields.fields ?? [], group, selectedRoute)),
    ],
  };
}

function samplesRows(diffs, params) {
  return diffs.map((d) => h('tr', { 'data-testid': 'sample-row', 'data-id': d.id },
    h('td', {}, h('a', { href: route('/diff', { id: d.id, group: params.get('group'), route: params.get('route'), field: params.get('field') }), 'data-testid': 'sample-link' }, time(d.at))),
    h('td', {}, h('code', {}, `${d.method} ${d.path}${d.query ? `?${d.query}` : ''}`)),
    h('td', {}, verdictBadge(d.verdict)),
    h('td', {}, statusBadge(d.legacyStatus, 'sample-legacy-status')),
    h('td', {}, statusBadge(d.newStatus, 'sample-new-status')),
    h('td', { class: 'fields-cell' }, (d.fields ?? []).map((f) => h('code', { class: f === params.get('field') ? 'this-field' : null }, f)))));
}

export async function fieldView(params) {
  const group = params.get('group');
  const field = params.get('field');
  const routeKey = params.get('route') || null;
  if (!group || !field) throw new Error('the address names no group and field');
  const filter = { group, route: routeKey, field, limit: 25 };
  const [fields, page] = await Promise.all([api.fields(group, routeKey), api.diffs(filter)]);
  const stats = (fields.fields ?? []).find((f) => f.field === field && (!routeKey || f.route === routeKey));
  const body = h('tbody', {}, samplesRows(page.diffs ?? [], params));
  const more = h('button', { type: 'button', class: 'more', 'data-testid': 'load-more' }, 'Load older samples');
  const status = h('p', { class: 'status-line', role: 'status' });
  let cursor = page.nextCursor;
  more.hidden = !cursor;
  more.addEventListener('click', async () => {
    more.disabled = true;
    status.textContent = 'Loading…';
    try {
      const next = await api.diffs({ ...filter, cursor });
      body.append(...samplesRows(next.diffs ?? [], params));
      cursor = next.nextCursor;
      more.hidden = !cursor;
      status.textContent = '';
    } catch (error) {
      status.textContent = error.message;
      status.classList.add('error');
    } finally {
      more.disabled = false;
    }
  });
  return {
    title: field,
    crumbs: [{ text: group, href: route('/group', { group }) }, { text: field }],
    content: [
      h('div', { class: 'page-head' },
        h('h1', {}, h('code', { 'data-testid': 'field-name' }, field)),
        stats?.noise ? h('span', { class: 'tag', 'data-testid': 'field-noise' }, 'noise') : null),
      h('dl', { class: 'facts inline', 'data-testid': 'field-stats' },
        h('dt', {}, 'Group'), h('dd', {}, group),
        h('dt', {}, 'Route'), h('dd', {}, h('code', {}, routeKey ?? stats?.route ?? 'any')),
        h('dt', {}, 'Differed'), h('dd', { 'data-testid': 'field-count' }, stats ? `${count(stats.count)} time${stats.count === 1 ? '' : 's'}` : '—'),
        h('dt', {}, 'First seen'), h('dd', {}, time(stats?.firstSeen)),
        h('dt', {}, 'Last seen'), h('dd', {}, time(stats?.lastSeen))),
      (page.diffs ?? []).length === 0
        ? h('p', { class: 'empty', 'data-testid': 'no-samples' }, 'No stored samples for this field.')
        : h('table', { class: 'grid', 'data-testid': 'samples' },
          h('caption', {}, 'Sample comparisons, newest first'),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'When'), h('th', { scope: 'col' }, 'Request'), h('th', { scope: 'col' }, 'Verdict'), h('th', { scope: 'col' }, 'Legacy'), h('th', { scope: 'col' }, 'New'), h('th', { scope: 'col' }, 'Fields that differ'))),
          body),
      more,
      status,
    ],
  };
}
