import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvokeCommand, LambdaClient, LambdaServiceException, ResourceNotFoundException, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { type LambdaHost, startLambdaHost } from '../new-services/lambda-host/server.js';
import { InvokeClient } from '../proxy/backends/lambda-client.js';
import { listen, rawServer, type TestServer } from './support/servers.js';
import { sigV4Problem } from './support/sigv4.js';

/** The credentials the client uses with a local endpoint. */
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

interface Seen {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/**
 * A server that records each request and answers `{"ok":1}`; with `secretAccessKey`, a host that
 * checks SigV4 as Lambda does: a request whose signature does not verify is answered 403.
 */
async function recorder(secretAccessKey?: string): Promise<{ server: TestServer; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = await listen((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => {
      const request = { method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(request);
      const problem = secretAccessKey === undefined ? undefined : sigV4Problem(request, secretAccessKey);
      if (problem) {
        res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'InvalidSignatureException' }).end(JSON.stringify({ message: problem }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":1}');
    });
  });
  return { server, seen };
}

const signedHeaders = (headers: IncomingHttpHeaders) => /SignedHeaders=([^,]+)/.exec(String(headers.authorization))?.[1];

describe('the Invoke client', function () {
  this.timeout(20_000);

  it('sends what the SDK\'s own client sends but its bookkeeping headers and user agent, with a signature SigV4 verifies', async () => {
    const { server, seen } = await recorder();
    const url = new URL(server.url);
    const payload = Buffer.from(JSON.stringify({ hello: 'world' }));
    const stock = new LambdaClient({ region: 'us-east-1', endpoint: url.href, credentials, maxAttempts: 1 });
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: url });
    try {
      await stock.send(new InvokeCommand({ FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:catalog:live', Payload: payload }));
      for (let call = 0; call < 2; call += 1) {
        const output = await trimmed.send('arn:aws:lambda:us-east-1:123456789012:function:catalog:live', payload, 1_000);
        assert.equal(output.Payload.toString(), '{"ok":1}');
        assert.equal(output.StatusCode, 200);
      }
    } finally {
      stock.destroy();
      trimmed.destroy();
      await server.close();
    }
    assert.equal(seen.length, 3);
    const [fromStock, ...fromTrimmed] = seen as [Seen, Seen, Seen];
    // The SDK's retry and user-agent steps' headers are not sent: Invoke is never retried, and the
    // user agent names Cutover. The date and the signature over it are the moment's.
    const bookkeeping = ['amz-sdk-invocation-id', 'amz-sdk-request', 'x-amz-user-agent'];
    const varying = new Set([...bookkeeping, 'user-agent', 'x-amz-date', 'authorization']);
    const comparable = ({ headers }: Seen) => Object.entries(headers).filter(([name]) => !varying.has(name)).sort();
    for (const request of fromTrimmed) {
      assert.deepEqual([request.method, request.url, request.body], [fromStock.method, fromStock.url, fromStock.body]);
      assert.deepEqual(comparable(request), comparable(fromStock));
      assert.match(String(request.headers['user-agent']), /^cutover\/\d+\.\d+\.\d+/);
      assert.equal(signedHeaders(request.headers), signedHeaders(fromStock.headers)?.split(';').filter((name) => !bookkeeping.includes(name)).join(';'));
    }
    for (const request of seen) assert.equal(sigV4Problem(request, credentials.secretAccessKey), undefined);
    // The verifier refuses what it should: another body, another secret.
    assert.match(String(sigV4Problem({ ...fromTrimmed[0], body: Buffer.from('{"hello":"there"}') }, credentials.secretAccessKey)), /x-amz-content-sha256/);
    assert.match(String(sigV4Problem(fromTrimmed[0], 'another secret')), /does not verify/);
    assert.match(String(sigV4Problem({ ...fromTrimmed[0], url: '/2015-03-31/functions/other/invocations' }, credentials.secretAccessKey)), /does not verify/);
  });

  it('signs concurrent calls each with its own signature, every one verified by a host that checks SigV4', async () => {
    const { server, seen } = await recorder(credentials.secretAccessKey);
    const trimmed = new InvokeClient({ region: 'us-east-1', endpoint: new URL(server.url) });
    try {
      const calls = Array.from({ length: 64 }, (_, n) => trimmed.send(n % 2 ? 'catalog' : 'orders:live', Buffer.from(JSON.stringify({ n })), 5_000));
      const answers = await Promise.all(calls);
      assert.deepEqual(answers.map((answer) => answer.StatusCode), answers.map(() => 200));
    } finally {
      trimmed.destroy();
      await server.close();
    }
    assert.equal(seen.length, 64);
    assert.equal(new Set(seen.map((request) => request.headers.authorization)).size, 64);
    // And a host that checks SigV4 refuses a wrong key, as the modeled exception Lambda names.
    const strict = await recorder('not the secret');
    const wrong = new InvokeClient({ region: 'us-east-1', endpoint: new URL(strict.server.url) });
    try {
      await assert.rejects(wrong.send('catalog', Buffer.from('{}'), 5_000), (error: unknown) => error instanceof LambdaServiceException && error.name === 'InvalidSignatureException' && error.$metadata.httpStatusCode === 403);
    } finally {
      wrong.destroy();
      await strict.server.close();
    }
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

  it('takes a configured endpoint (AWS_ENDPOINT_URL_LAMBDA), never signs with credentials past their expiration, and signs a session\'s token', async () => {
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
      process.env.AWS_SESSION_TOKEN = 'second-session';
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
    assert.match(String(first.headers.authorization), /Credential=first-key\//);
    assert.match(String(second.headers.authorization), /Credential=second-key\//, 'the first key had expired');
    // A session's token travels signed, as the SDK sends it.
    assert.equal(first.headers['x-amz-security-token'], undefined);
    assert.equal(second.headers['x-amz-security-token'], 'second-session');
    assert.match(String(second.headers.authorization), /SignedHeaders=[^,]*x-amz-security-token/);
    assert.equal(sigV4Problem(first, 'first-secret'), undefined);
    assert.equal(sigV4Problem(second, 'second-secret'), undefined);
  });
});

describe('the Invoke client and the local Lambda host', function () {
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

  const payloadOf = (output: { Payload: Buffer }) => JSON.parse(output.Payload.toString('utf8')) as unknown;

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
    const modeled = (exception: abstract new (...args: never[]) => LambdaServiceException, status: number, members: Record<string, unknown>) => (error: unknown) => {
      assert.ok(error instanceof exception, String(error));
      assert.ok(error instanceof LambdaServiceException);
      assert.equal(error.name, exception.name);
      assert.equal(error.$fault, 'client');
      assert.equal(error.$metadata.httpStatusCode, status);
      assert.match(String(error.$metadata.requestId), /^[0-9a-f-]{36}$/);
      assert.ok(error.message.length > 0);
      for (const [name, value] of Object.entries(members)) assert.equal((error as unknown as Record<string, unknown>)[name], value, name);
      assert.equal(error.$response?.statusCode, status);
      return true;
    };
    try {
      await assert.rejects(trimmed.send('throttled', Buffer.from('{}'), 2_000), modeled(TooManyRequestsException, 429, { Type: 'User' }));
      await assert.rejects(trimmed.send('no_such_function', Buffer.from('{}'), 2_000), modeled(ResourceNotFoundException, 404, { Type: 'User' }));
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
