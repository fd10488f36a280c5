import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { InvokeClient } from '../proxy/backends/lambda-client.js';
import { listen, type TestServer } from './support/servers.js';

/** The credentials the client uses with a local endpoint. */
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** The signature SigV4 gives a captured request, recomputed by the SDK's own signer at the request's own time. */
async function resign(headers: IncomingHttpHeaders, url: URL, body: Buffer): Promise<string | undefined> {
  const signedNames = /SignedHeaders=([^,]+)/.exec(String(headers.authorization))?.[1]?.split(';') ?? [];
  const signed = Object.fromEntries(signedNames.filter((name) => name !== 'x-amz-date').map((name) => [name, String(headers[name])]));
  const stamp = String(headers['x-amz-date']);
  const at = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
  const signer = new SignatureV4({ credentials, region: 'us-east-1', service: 'lambda', sha256: Sha256 });
  const request = new HttpRequest({ method: 'POST', protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: '/2015-03-31/functions/catalog/invocations', headers: signed, body });
  return (await signer.sign(request, { signingDate: at })).headers.authorization;
}

describe('the trimmed Invoke client', function () {
  this.timeout(20_000);
  let server: TestServer;
  const seen: IncomingHttpHeaders[] = [];

  before(async () => {
    server = await listen((req, res) => {
      seen.push(req.headers);
      req.resume().on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}'));
    });
  });
  after(async () => { await server?.close(); });

  it('signs an Invoke as the SDK\'s own client does: the same signed headers but the retry step\'s, a signature SigV4 verifies', async () => {
    const url = new URL(server.url);
    const payload = Buffer.from(JSON.stringify({ hello: 'world' }));
    const stock = new LambdaClient({ region: 'us-east-1', endpoint: url.href, credentials, maxAttempts: 1 });
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: url });
    try {
      await stock.send(new InvokeCommand({ FunctionName: 'catalog', Payload: payload }));
      const output = await trimmed.send('catalog', payload, 1_000);
      assert.equal(Buffer.from(output.Payload ?? []).toString(), '{"ok":1}');
    } finally {
      stock.destroy();
      trimmed.destroy();
    }
    assert.equal(seen.length, 2);
    const [fromStock, fromTrimmed] = seen as [IncomingHttpHeaders, IncomingHttpHeaders];
    const signedHeaders = (headers: IncomingHttpHeaders) => /SignedHeaders=([^,]+)/.exec(String(headers.authorization))?.[1];
    // Only the retry step's bookkeeping headers are gone: Invoke is never retried.
    assert.equal(signedHeaders(fromTrimmed), signedHeaders(fromStock)?.replace('amz-sdk-invocation-id;amz-sdk-request;', ''));
    for (const headers of [fromStock, fromTrimmed]) assert.equal(await resign(headers, url, payload), headers.authorization);
  });

  it('aborts a call past its deadline with a TimeoutError', async () => {
    const silent = await listen(() => undefined);
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: new URL(silent.url) });
    try {
      await assert.rejects(trimmed.send('catalog', Buffer.from('{}'), 200), (error: Error) => error.name === 'TimeoutError');
    } finally {
      trimmed.destroy();
      await silent.close();
    }
  });
});
