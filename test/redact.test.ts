import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { difference } from '../compare/diff.js';
import { ConfigError, parseConfig } from '../proxy/config/config.js';
import { REDACTED, Redactor } from '../proxy/store/redact.js';
import { SECRET_NAME_PARTS, SECRET_WHOLE_NAMES } from '../proxy/telemetry/secret-names.js';

const minimal = () => ({
  legacy: { url: 'http://127.0.0.1:4001' },
  flags: { datafile: 'datafile.json' },
  groups: { catalog: { flag: 'catalog_migration', function: 'catalog', routes: ['GET /products'] } },
});

/** A Redactor as the proxy makes it, from a configuration's `store.redact`. */
function redactor(redact: Record<string, unknown> = {}): Redactor {
  const config = parseConfig({ ...minimal(), store: { redact } }, '/etc/cutover', {});
  return new Redactor(config.store.redact, { hash: false, key: 'k', header: undefined });
}

function rejection(redact: Record<string, unknown>): string {
  try {
    redactor(redact);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('the configuration was accepted');
}

describe('redaction rules', () => {
  it('redacts secret query parameters in any case and spelling, the others byte for byte', () => {
    const query = 'TOKEN=a&Api-Key=b&api_key=c&apiKey=d&client%5Fsecret=e&new+password=f&sig=g&q=rope%20toy&design=h&key=i&x';
    assert.equal(redactor().query(query), `TOKEN=${REDACTED}&Api-Key=${REDACTED}&api_key=${REDACTED}&apiKey=${REDACTED}&client%5Fsecret=${REDACTED}&new+password=${REDACTED}&sig=${REDACTED}&q=rope%20toy&design=h&key=i&x`);
  });

  it('redacts secret JSON members at any depth, in arrays too, and whatever they hold', () => {
    const body = { user: { name: 'Alice', PASSWORD: 'p', session: { id: 's' } }, cards: [{ label: 'work', Card_Number: '4111', cvv: 123 }], company: 'Acme', sort: { key: 'name' } };
    assert.deepEqual(redactor().json(body), {
      user: { name: 'Alice', PASSWORD: REDACTED, session: REDACTED }, cards: [{ label: 'work', Card_Number: REDACTED, cvv: REDACTED }], company: 'Acme', sort: { key: 'name' },
    });
  });

  it('redacts a form-encoded body as a query string, and leaves other text alone', () => {
    const form = 'user=alice&Password=p&remember=yes';
    assert.equal(redactor().text(form, { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' }), `user=alice&Password=${REDACTED}&remember=yes`);
    assert.equal(redactor().text(form, { 'content-type': 'text/plain' }), form);
  });

  it('redacts secret headers, and header differences as the headers', () => {
    assert.deepEqual(redactor().headersOf({ 'X-Auth-Token': 'a', 'x-csrf-token': 'b', Cookie: 'c', 'content-type': 'text/plain' }), { 'X-Auth-Token': REDACTED, 'x-csrf-token': REDACTED, Cookie: REDACTED, 'content-type': 'text/plain' });
    const r = redactor({ headers: ['x-customer-email'] });
    assert.deepEqual(r.difference(difference(['headers', 'set-cookie'], 'header', 'sid=1', undefined)), difference(['headers', 'set-cookie'], 'header', REDACTED, undefined), 'a missing side stays null');
    assert.deepEqual(r.difference(difference(['headers', 'x-customer-email'], 'header', 'a@b', 'c@d')).new, REDACTED);
    assert.deepEqual(r.difference(difference(['headers', 'etag'], 'header', '"1"', '"2"')).new, '"2"');
    assert.deepEqual(r.difference(difference(['status'], 'status', 200, 500)).new, 500);
  });

  it('redacts a body difference at or below a secret member or a configured pointer, not one named like a header', () => {
    const r = redactor({ pointers: ['/data/*/email'] });
    assert.equal(r.difference(difference(['user', 'Password'], 'changed', 'a', 'b')).legacy, REDACTED);
    assert.equal(r.difference(difference(['session', 'id'], 'changed', 'a', 'b')).legacy, REDACTED);
    assert.equal(r.difference(difference(['data', 0, 'email'], 'changed', 'a', 'b')).legacy, REDACTED);
    assert.deepEqual(r.difference(difference(['user'], 'added', undefined, { name: 'n', token: 't' })).new, { name: 'n', token: REDACTED });
    // A body member named "headers" is a member: judged by its own name, not as a header.
    assert.equal(r.difference(difference(['headers', 'cookie'], 'changed', 'a', 'b')).legacy, REDACTED);
    assert.equal(r.difference(difference(['headers', 'etag'], 'changed', 'a', 'b')).legacy, 'a');
  });

  it('gives a default name back with keep, and takes configured query names in any case and spelling', () => {
    const r = redactor({ keep: ['nextPageToken', 'SESSION'], query: ['customer_email'] });
    assert.equal(r.query('next_page_token=n&token=t&Customer-Email=e'), `next_page_token=n&token=${REDACTED}&Customer-Email=${REDACTED}`);
    assert.deepEqual(r.json({ session: 'kept', nextPageToken: 'kept', sessionToken: 't' }), { session: 'kept', nextPageToken: 'kept', sessionToken: REDACTED });
  });

  it('refuses to keep a credential header, or a name the defaults do not redact (a typo)', () => {
    assert.match(rejection({ keep: ['Authorization'] }), /store\.redact\.keep\[0\]: a credential header, never stored/);
    assert.match(rejection({ keep: ['token', 'pasword'] }), /store\.redact\.keep\[1\]: not a name the defaults redact/);
  });

  it('are the lists docs/operations.md writes out', () => {
    const docs = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
    const listed = (lead: string) => {
      const item = new RegExp(`^  - ${lead}([^]*?)(?=^  - |^- )`, 'm').exec(docs)?.[1];
      assert.ok(item, `docs/operations.md has the item "${lead}"`);
      return [...item.split('(')[0]!.matchAll(/`([^`]+)`/g)].map((found) => found[1]);
    };
    assert.deepEqual(listed('These whole names:'), SECRET_WHOLE_NAMES);
    assert.deepEqual(listed('Any name that contains:'), SECRET_NAME_PARTS);
  });
});
