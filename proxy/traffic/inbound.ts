import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { headersWithout, SHADOW_HEADER, withHeader, withoutHopByHop } from '../http/headers.js';
import type { Framing, Inbound } from '../http/request.js';

/** A request the proxy answers itself, without asking any side. */
export interface Refusal {
  readonly refused: { readonly status: number; readonly code: string; readonly detail: string };
}

/** What a pass may know beyond the request: the settings that shape it. */
export interface InboundSettings {
  readonly trustForwarded: boolean;
}

type InboundPass = (inbound: Inbound, req: IncomingMessage, settings: InboundSettings) => Inbound | Refusal;

/** Framing the sender sets for what it sends; `Expect`, which Node's server has already answered. */
const SENDERS_OWN: ReadonlySet<string> = new Set(['content-length', 'expect']);

/** What a client may not say about itself unless a trusted balancer said it. */
const FORWARDED: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

export const refuseNonOriginForm: InboundPass = (inbound) => (inbound.target.startsWith('/') && inbound.method !== 'CONNECT'
  ? inbound
  : { refused: { status: 400, code: 'bad_request_target', detail: 'Only origin-form request targets (a path) are proxied; the upstream is configuration, not the request.' } });

/**
 * Framing is taken from what the parser used (it refuses a request carrying both, or a transfer
 * coding that does not end in chunked), then both framing headers go: senders set their own.
 * `Expect` goes too: Node's server has already answered `100 Continue`, and the body follows at once.
 */
export const stripHopByHopAndFrame: InboundPass = (inbound, req) => {
  const coding = req.headers['transfer-encoding'];
  // A coding under the chunked one (gzip, chunked) would reach legacy undecoded and unannounced.
  if (coding !== undefined && coding.trim().toLowerCase() !== 'chunked') {
    return { refused: { status: 501, code: 'unsupported_transfer_coding', detail: `Transfer-Encoding "${coding}" is not supported; only chunked is.` } };
  }
  const headers: IncomingHttpHeaders = withoutHopByHop(inbound.headers, SENDERS_OWN);
  const length = req.headers['content-length'];
  const framing: Framing = coding !== undefined ? { kind: 'chunked' }
    : length !== undefined && Number(length) > 0 ? { kind: 'length', bytes: Number(length) }
      : { kind: 'none' };
  return { ...inbound, headers, framing };
};

/** Only the proxy may say that a request is a shadow: a client's own marker would make a real write persist nothing. */
export const stripShadowMarker: InboundPass = (inbound) => {
  if (inbound.headers[SHADOW_HEADER] === undefined) return inbound;
  return { ...inbound, headers: headersWithout(inbound.headers, (name) => name === SHADOW_HEADER) };
};

/**
 * RFC 9110 §7.2: Host is `uri-host [":" port]`, never userinfo. Refused rather than trimmed: a
 * Host with userinfo is no request a browser sends, and legacy would get it as it came.
 */
export const refuseUserinfoHost: InboundPass = (inbound) => (inbound.headers.host?.includes('@')
  ? { refused: { status: 400, code: 'bad_host', detail: 'The Host header carries userinfo ("@"); it may only be host[:port].' } }
  : inbound);

/**
 * Behind a trusted load balancer its X-Forwarded-* are kept and the peer's address is appended;
 * otherwise they are the client's own words, and are replaced by what the proxy saw.
 */
export const forwardedHeaders: InboundPass = (inbound, req, settings) => {
  const encrypted = 'encrypted' in req.socket && req.socket.encrypted === true;
  const { headers } = inbound;
  const trusted = (name: string) => (settings.trustForwarded ? headers[name] : undefined);
  const chain = trusted('x-forwarded-for');
  const host = trusted('x-forwarded-host') ?? headers.host;
  // One copy, written to while it is still this pass's own.
  const forwarded: IncomingHttpHeaders = settings.trustForwarded ? { ...headers } : headersWithout(headers, (name) => FORWARDED.has(name));
  forwarded['x-forwarded-for'] = chain ? `${String(chain)}, ${inbound.sourceIp}` : inbound.sourceIp;
  forwarded['x-forwarded-proto'] = trusted('x-forwarded-proto') ?? (encrypted ? 'https' : 'http');
  if (host !== undefined) forwarded['x-forwarded-host'] = host;
  return { ...inbound, headers: forwarded };
};

export const requestIdHeader: InboundPass = (inbound) => ({ ...inbound, headers: withHeader(inbound.headers, 'x-request-id', inbound.requestId) });

/** The inbound half of the request path, in order; each pass has one job and changes nothing it was given. */
export const INBOUND_PASSES: readonly InboundPass[] = [
  refuseNonOriginForm,
  stripHopByHopAndFrame,
  refuseUserinfoHost,
  stripShadowMarker,
  forwardedHeaders,
  requestIdHeader,
];

export function isRefusal(value: Inbound | Refusal): value is Refusal {
  return 'refused' in value;
}

/** Runs the inbound passes over a client request; its id is read first, so that a refusal carries it too. */
export function readInbound(req: IncomingMessage, requestId: string, receivedAt: number, settings: InboundSettings): Inbound | Refusal {
  const target = req.url ?? '/';
  const queryAt = target.indexOf('?');
  let inbound: Inbound = {
    method: req.method ?? 'GET',
    target,
    path: queryAt === -1 ? target : target.slice(0, queryAt),
    requestId,
    headers: req.headers,
    framing: { kind: 'none' },
    httpVersion: req.httpVersion,
    sourceIp: req.socket.remoteAddress ?? '',
    receivedAt,
  };
  for (const pass of INBOUND_PASSES) {
    const next = pass(inbound, req, settings);
    if (isRefusal(next)) return next;
    inbound = next;
  }
  return inbound;
}
