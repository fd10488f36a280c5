import assert from 'node:assert/strict';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import {
  forwardedHeaders, INBOUND_PASSES, isRefusal, readInbound, type Refusal, refuseNonOriginForm,
  requestIdHeader, stripHopByHopAndFrame, stripShadowMarker,
} from '../proxy/traffic/inbound.js';
import type { Inbound } from '../proxy/http/request.js';

/** What the passes read of a request: its headers as Node parsed them, and its socket. */
function request(headers: IncomingHttpHeaders, options: { method?: string; url?: string; encrypted?: boolean } = {}): IncomingMessage {
  return { method: options.method ?? 'GET', url: options.url ?? '/products/1', httpVersion: '1.1', headers, socket: { remoteAddress: '198.51.100.7', encrypted: options.encrypted } } as unknown as IncomingMessage;
}

function inbound(headers: IncomingHttpHeaders, overrides: Partial<Inbound> = {}): Inbound {
  return { method: 'GET', target: '/products/1', path: '/products/1', requestId: 'req-00000001', headers, framing: { kind: 'none' }, httpVersion: '1.1', sourceIp: '198.51.100.7', receivedAt: 0, ...overrides };
}

const untrusted = { trustForwarded: false };

function passed(value: Inbound | Refusal): Inbound {
  if (isRefusal(value)) assert.fail(`refused: ${value.refused.detail}`);
  return value;
}

describe('the inbound passes, one by one', () => {
  it('lists the passes in the order of the request path', () => {
    assert.deepEqual(INBOUND_PASSES.map((pass) => pass.name), ['refuseNonOriginForm', 'stripHopByHopAndFrame', 'refuseUserinfoHost', 'stripShadowMarker', 'forwardedHeaders', 'requestIdHeader']);
  });

  it('refuseNonOriginForm: a path passes; an absolute target and CONNECT are refused with 400', () => {
    const ok = inbound({});
    assert.equal(refuseNonOriginForm(ok, request({}), untrusted), ok);
    for (const [method, target] of [['GET', 'http://evil.example/'], ['CONNECT', '/x'], ['OPTIONS', '*']]) {
      const refused = refuseNonOriginForm(inbound({}, { method, target }), request({}), untrusted);
      assert.ok(isRefusal(refused) && refused.refused.status === 400, `${method} ${target}`);
    }
  });

  it('stripHopByHopAndFrame: takes the framing the parser used, drops framing and hop-by-hop headers, and refuses other codings', () => {
    const chunked = { 'transfer-encoding': 'chunked', connection: 'keep-alive, x-secret', 'x-secret': '1', te: 'trailers', expect: '100-continue', accept: 'application/json' };
    const framed = passed(stripHopByHopAndFrame(inbound(chunked), request(chunked), untrusted));
    assert.deepEqual(framed.framing, { kind: 'chunked' });
    assert.deepEqual(framed.headers, { accept: 'application/json' });
    const sized = { 'content-length': '12', connection: 'content-length' };
    assert.deepEqual(passed(stripHopByHopAndFrame(inbound(sized), request(sized), untrusted)).framing, { kind: 'length', bytes: 12 });
    assert.deepEqual(passed(stripHopByHopAndFrame(inbound({}), request({}), untrusted)).framing, { kind: 'none' });
    const gzip = { 'transfer-encoding': 'gzip, chunked' };
    const refused = stripHopByHopAndFrame(inbound(gzip), request(gzip), untrusted);
    assert.ok(isRefusal(refused) && refused.refused.status === 501);
  });

  it('stripShadowMarker: a client\'s own x-cutover-shadow goes, and nothing else changes', () => {
    const marked = passed(stripShadowMarker(inbound({ 'x-cutover-shadow': '1', accept: '*/*' }), request({}), untrusted));
    assert.deepEqual(marked.headers, { accept: '*/*' });
    const clean = inbound({ accept: '*/*' });
    assert.equal(stripShadowMarker(clean, request({}), untrusted), clean);
  });

  it('forwardedHeaders: says what the proxy saw, or appends to a trusted balancer\'s chain', () => {
    const claimed = { host: 'shop.example', 'x-forwarded-for': '203.0.113.9', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' };
    assert.deepEqual(passed(forwardedHeaders(inbound(claimed), request(claimed), untrusted)).headers, {
      host: 'shop.example', 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'shop.example',
    });
    assert.deepEqual(passed(forwardedHeaders(inbound(claimed), request(claimed), { trustForwarded: true })).headers, {
      ...claimed, 'x-forwarded-for': '203.0.113.9, 198.51.100.7',
    });
    assert.equal(passed(forwardedHeaders(inbound({}), request({}, { encrypted: true }), untrusted)).headers['x-forwarded-proto'], 'https');
  });

  it('requestIdHeader: the upstreams get the request id the proxy uses', () => {
    assert.equal(passed(requestIdHeader(inbound({ 'x-request-id': 'forged' }), request({}), untrusted)).headers['x-request-id'], 'req-00000001');
  });

  it('readInbound: runs them all, and leaves the parsed request untouched', () => {
    const headers = { host: 'shop.example', 'content-length': '2', 'x-cutover-shadow': '1' };
    const read = passed(readInbound(request(headers, { method: 'POST', url: '/orders?x=1' }), 'req-00000002', 0, untrusted));
    assert.deepEqual({ target: read.target, path: read.path, framing: read.framing }, { target: '/orders?x=1', path: '/orders', framing: { kind: 'length', bytes: 2 } });
    assert.equal(read.headers['x-cutover-shadow'], undefined);
    assert.equal(read.headers['x-request-id'], 'req-00000002');
    assert.deepEqual(headers, { host: 'shop.example', 'content-length': '2', 'x-cutover-shadow': '1' }, 'no pass changed what Node parsed');
  });
});
