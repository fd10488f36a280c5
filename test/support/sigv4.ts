import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request as a server received it: the path and query as sent, the body whole. */
export interface ReceivedRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding, as SigV4 asks for: everything but unreserved characters. */
const uriEncode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * Why a request's AWS Signature Version 4 does not hold for `secretAccessKey`, or undefined when it
 * does: the canonical request, the string to sign and the signing key recomputed with node:crypto
 * from the SigV4 specification alone (AWS's "Create a signed AWS API request"), not with the
 * signer that made it. Services other than S3 encode each path segment twice: once on the wire,
 * once more in the canonical request.
 */
export function sigV4Problem(request: ReceivedRequest, secretAccessKey: string): string | undefined {
  const authorization = String(request.headers.authorization ?? '');
  const parts = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!parts) return `not a SigV4 authorization header: ${authorization}`;
  const [, , day, region, service, signedList, signature] = parts as unknown as [string, string, string, string, string, string, string];
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(day)) return `x-amz-date ${amzDate} is not of the credential's day ${day}`;
  const bodyHash = hex(request.body);
  const declared = request.headers['x-amz-content-sha256'];
  if (declared !== undefined && declared !== bodyHash) return 'x-amz-content-sha256 is not the hash of the body';
  const signedNames = signedList.split(';');
  if (!signedNames.includes('host')) return 'host is not signed';
  const canonicalHeaders = signedNames.map((name) => {
    const value = request.headers[name];
    if (value === undefined) return `${name}:<missing>`;
    return `${name}:${(Array.isArray(value) ? value.join(',') : value).trim().replace(/\s+/g, ' ')}`;
  });
  const [rawPath = '/', rawQuery = ''] = String(request.url).split('?', 2);
  const canonicalPath = rawPath.split('/').map(uriEncode).join('/');
  const canonicalQuery = rawQuery === '' ? '' : rawQuery.split('&')
    .map((pair) => pair.split('=', 2).map((part) => uriEncode(decodeURIComponent(part ?? ''))) as [string, string?])
    .map(([name, value = '']) => `${name}=${value}`)
    .sort()
    .join('&');
  const canonicalRequest = [request.method, canonicalPath, canonicalQuery, ...canonicalHeaders, '', signedList, bodyHash].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, hex(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secretAccessKey}`, day), region), service), 'aws4_request');
  const expected = hmac(key, stringToSign);
  return timingSafeEqual(expected, Buffer.from(signature, 'hex')) ? undefined : `the signature does not verify; canonical request:\n${canonicalRequest}`;
}
