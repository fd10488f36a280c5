import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvokeCommand, LambdaClient, LambdaServiceException } from '@aws-sdk/client-lambda';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@smithy/core/checksum';
import { HttpRequest } from '@smithy/core/protocols';
import { type LambdaHost, startLambdaHost } from '../new-services/lambda-host/server.js';
import { InvokeClient } from '../proxy/backends/lambda-client.js';
import { listen, rawServer, type TestServer } from './support/servers.js';

/** The credentials the client uses with a local endpoint. */
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A server that records each request and answers `{"ok":1}`. */
async function recorder(): Promise<{ server: TestServer; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}');
    });
  });
  return { server, seen };
}

/** The signature SigV4 gives a captured request, recomputed by the SDK's own signer at the request's own time. */
async function resign(request: Seen, url: URL, secretAccessKey = credentials.secretAccessKey): Promise<string | undefined> {
  const { headers } = request;
  const accessKeyId = /Credential=([^/]+)\//.exec(String(headers.authorization))?.[1] ?? '';
  const signedNames = /SignedHeaders=([^,]+)/.exec(String(headers.authorization))?.[1]?.split(';') ?? [];
  const signed = Object.fromEntries(signedNames.filter((name) => name !== 'x-amz-date').map((name) => [name, String(headers[name])]));
  const stamp = String(headers['x-amz-date']);
  const at = new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`);
  const signer = new SignatureV4({ credentials: { accessKeyId, secretAccessKey }, region: 'us-east-1', service: 'lambda', sha256: Sha256 });
  const signable = new HttpRequest({ method: request.method, protocol: 'http:', hostname: url.hostname, port: Number(url.port), path: request.url, headers: signed, body: request.body });
  return (await signer.sign(signable, { signingDate: at })).headers.authorization;
}

const signedHeaders = (headers: IncomingHttpHeaders) => /SignedHeaders=([^,]+)/.exec(String(headers.authorization))?.[1];

describe('the trimmed Invoke client', function () {
  this.timeout(20_000);

  it('sends what the SDK\'s own client sends, but the retry step\'s two headers, with a signature SigV4 verifies', async () => {
    const { server, seen } = await recorder();
    const url = new URL(server.url);
    const payload = Buffer.from(JSON.stringify({ hello: 'world' }));
    const stock = new LambdaClient({ region: 'us-east-1', endpoint: url.href, credentials, maxAttempts: 1 });
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: url });
    try {
      await stock.send(new InvokeCommand({ FunctionName: 'catalog', Payload: payload }));
      // Twice: the second call takes the endpoint, auth scheme and user agent the first one resolved.
      for (let call = 0; call < 2; call += 1) {
        const output = await trimmed.send('catalog', payload, 1_000);
        assert.equal(Buffer.from(output.Payload ?? []).toString(), '{"ok":1}');
        assert.equal(output.StatusCode, 200);
      }
    } finally {
      stock.destroy();
      trimmed.destroy();
      await server.close();
    }
    assert.equal(seen.length, 3);
    const [fromStock, ...fromTrimmed] = seen as [Seen, Seen, Seen];
    // Only the retry step's bookkeeping headers are gone: Invoke is never retried. The date and
    // the signature over it are the moment's.
    const varying = new Set(['amz-sdk-invocation-id', 'amz-sdk-request', 'x-amz-date', 'authorization']);
    const comparable = ({ headers }: Seen) => Object.entries(headers).filter(([name]) => !varying.has(name)).sort();
    for (const request of fromTrimmed) {
      assert.deepEqual([request.method, request.url, request.body], [fromStock.method, fromStock.url, fromStock.body]);
      assert.deepEqual(comparable(request), comparable(fromStock));
      assert.equal(signedHeaders(request.headers), signedHeaders(fromStock.headers)?.replace('amz-sdk-invocation-id;amz-sdk-request;', ''));
    }
    for (const request of seen) assert.equal(await resign(request, url), request.headers.authorization);
  });

  it('aborts a call past its deadline with a TimeoutError, and the request with it', async () => {
    let abandoned: Promise<void> | undefined;
    const silent = await listen((req) => {
      abandoned = new Promise((resolve) => req.socket.once('close', () => resolve()));
    });
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: new URL(silent.url) });
    try {
      await assert.rejects(trimmed.send('catalog', Buffer.from('{}'), 200), (error: Error) => error.name === 'TimeoutError');
      assert.ok(abandoned, 'the request reached the endpoint');
      // The deadline reaches the HTTP handler, which gives the connection up: no slot is held by a call already failed.
      const closed = await Promise.race([abandoned.then(() => true), sleep(2_000, false, { ref: false })]);
      assert.ok(closed, 'the connection stayed open past the deadline');
    } finally {
      trimmed.destroy();
      await silent.close();
    }
  });

  it('rejects a connection reset before the answer with ECONNRESET', async () => {
    const resetting = await rawServer((_head, socket) => socket.resetAndDestroy());
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: new URL(resetting.url) });
    try {
      await assert.rejects(trimmed.send('catalog', Buffer.from('{}'), 5_000), (error: NodeJS.ErrnoException) => error.code === 'ECONNRESET');
    } finally {
      trimmed.destroy();
      resetting.close();
    }
  });

  it('rejects an answer broken off in its body at once, not at the deadline', async () => {
    const breaking = await rawServer((_head, socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"par');
      setTimeout(() => socket.destroy(), 20);
    });
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: new URL(breaking.url) });
    const started = Date.now();
    try {
      await assert.rejects(trimmed.send('catalog', Buffer.from('{}'), 10_000), (error: Error) => error.name !== 'TimeoutError');
      assert.ok(Date.now() - started < 5_000, 'long before the 10 s deadline');
    } finally {
      trimmed.destroy();
      breaking.close();
    }
  });

  it('takes a configured endpoint (AWS_ENDPOINT_URL_LAMBDA), and never signs with credentials past their expiration', async () => {
    const { server, seen } = await recorder();
    const names = ['AWS_ENDPOINT_URL_LAMBDA', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_CREDENTIAL_EXPIRATION', 'AWS_PROFILE'] as const;
    const saved = names.map((name) => [name, process.env[name]] as const);
    const use = (accessKeyId: string, secretAccessKey: string, expiresInMs: number) => {
      process.env.AWS_ACCESS_KEY_ID = accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = secretAccessKey;
      process.env.AWS_CREDENTIAL_EXPIRATION = new Date(Date.now() + expiresInMs).toISOString();
    };
    for (const name of names) delete process.env[name];
    process.env.AWS_ENDPOINT_URL_LAMBDA = server.url;
    let trimmed: InvokeClient | undefined;
    try {
      use('first-key', 'first-secret', 100);
      trimmed = new InvokeClient({ region: 'us-east-1', endpoint: undefined });
      await trimmed.send('catalog', Buffer.from('{}'), 2_000);
      await sleep(150);
      use('second-key', 'second-secret', 60 * 60_000);
      await trimmed.send('catalog', Buffer.from('{}'), 2_000);
    } finally {
      trimmed?.destroy();
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await server.close();
    }
    const [first, second] = seen as [Seen, Seen];
    const url = new URL(server.url);
    assert.match(String(first.headers.authorization), /Credential=first-key\//);
    assert.match(String(second.headers.authorization), /Credential=second-key\//, 'the first key had expired');
    assert.equal(await resign(first, url, 'first-secret'), first.headers.authorization);
    assert.equal(await resign(second, url, 'second-secret'), second.headers.authorization);
  });
});

describe('the trimmed Invoke client and the local Lambda host', function () {
  this.timeout(20_000);
  let host: LambdaHost;
  let other: LambdaHost;

  before(async () => {
    host = await startLambdaHost({
      functions: {
        echo: { handler: async (event: unknown) => ({ echoed: event }) },
        throws: { handler: async () => { throw new TypeError('cannot read stock of undefined'); } },
        throttled: { handler: async () => 'never', reservedConcurrency: 0 },
      },
      log: () => undefined,
    });
    other = await startLambdaHost({ functions: { elsewhere: { handler: async () => 'elsewhere' } }, log: () => undefined });
  });
  after(async () => {
    await host?.close();
    await other?.close();
  });

  const payloadOf = (output: { Payload?: Uint8Array }) => JSON.parse(Buffer.from(output.Payload ?? []).toString('utf8')) as unknown;

  it('returns a function\'s answer, and a function\'s failure as its FunctionError, as the SDK does', async () => {
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: new URL(host.url) });
    try {
      const answered = await trimmed.send('echo', Buffer.from('{"id":7}'), 2_000);
      assert.deepEqual([answered.StatusCode, answered.FunctionError, answered.ExecutedVersion, payloadOf(answered)], [200, undefined, '$LATEST', { echoed: { id: 7 } }]);
      assert.equal(answered.$metadata.httpStatusCode, 200);
      const failed = await trimmed.send('throws', Buffer.from('{}'), 2_000);
      assert.equal(failed.FunctionError, 'Unhandled');
      assert.deepEqual(payloadOf(failed), { errorType: 'TypeError', errorMessage: 'cannot read stock of undefined', trace: (payloadOf(failed) as { trace: unknown }).trace });
    } finally {
      trimmed.destroy();
    }
  });

  it('rejects Lambda\'s errors as the SDK\'s modeled exceptions, with their status, request id and response', async () => {
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: new URL(host.url) });
    const modeled = (name: string, status: number) => (error: unknown) => {
      assert.ok(error instanceof LambdaServiceException, String(error));
      assert.equal(error.name, name);
      assert.equal(error.$fault, 'client');
      assert.equal(error.$metadata.httpStatusCode, status);
      assert.match(String(error.$metadata.requestId), /^[0-9a-f-]{36}$/);
      // The signer reads the server's clock from it, to correct a skewed clock.
      assert.equal((error as unknown as { $response: { statusCode: number } }).$response.statusCode, status);
      return true;
    };
    try {
      await assert.rejects(trimmed.send('throttled', Buffer.from('{}'), 2_000), modeled('TooManyRequestsException', 429));
      await assert.rejects(trimmed.send('no_such_function', Buffer.from('{}'), 2_000), modeled('ResourceNotFoundException', 404));
    } finally {
      trimmed.destroy();
    }
  });

  it('resolves its endpoint once per client, also when its first calls start together', async () => {
    const here = new InvokeClient({ region: 'us-east-1', endpoint: new URL(host.url) });
    const there = new InvokeClient({ region: 'us-east-1', endpoint: new URL(other.url) });
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, id) => here.send('echo', Buffer.from(JSON.stringify({ id })), 5_000)));
      assert.deepEqual(answers.map(payloadOf), Array.from({ length: 40 }, (_, id) => ({ echoed: { id } })));
      assert.equal(payloadOf(await there.send('elsewhere', Buffer.from('{}'), 2_000)), 'elsewhere');
      await assert.rejects(there.send('echo', Buffer.from('{}'), 2_000), { name: 'ResourceNotFoundException' });
      assert.deepEqual(payloadOf(await here.send('echo', Buffer.from('1'), 2_000)), { echoed: 1 });
    } finally {
      here.destroy();
      there.destroy();
    }
  });
});
