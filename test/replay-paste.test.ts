import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { openTestDatabase, type TestDatabase } from './support/database.js';
import { pasteIntoBash } from './support/paste.js';
import { startTestProxy, type TestProxy, untilReady } from './support/proxy.js';
import { listen, type TestServer } from './support/servers.js';
import { until } from './support/until.js';

/** The files the bodies below try to create in the shell's directory. */
const ATTACKER_FILES = ['pwned', 'pwned2', 'pwned3'];

interface Received { readonly target: string; readonly body: Buffer; readonly requestId: string; readonly note?: string }

/** A header a client may send with a tab and a byte beyond ASCII in it: pasted raw, the tab would ask bash to complete. */
const NOTE = 'a\tcaf\u00e9';

/** Sends a request through the proxy exactly as given (fetch would normalise the target). */
function send(url: string, method: string, target: string, body: Buffer, contentType = 'text/plain'): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, path: target, headers: { 'x-customer-id': 'reviewer-test', 'content-type': contentType, 'x-note': NOTE } }, (response) => {
      response.resume();
      response.on('end', () => resolve(String(response.headers['x-request-id'])));
    });
    request.on('error', reject);
    request.end(body);
  });
}

// The store is where the replay comes from, not what is under test: embedded Postgres is enough.
describe('replay curls pasted into an interactive bash on a terminal', function () {
  this.timeout(90_000);
  let legacy: TestServer;
  let database: TestDatabase;
  let s: TestProxy;
  let home: string;
  const atLegacy: Received[] = [];
  const atLambda: Received[] = [];

  before(async () => {
    home = mkdtempSync(path.join(tmpdir(), 'cutover-paste-'));
    database = await openTestDatabase('embedded');
    legacy = await listen((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        atLegacy.push({ target: req.url ?? '', body: Buffer.concat(chunks), requestId: String(req.headers['x-request-id']), note: String(req.headers['x-note']) });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    s = await startTestProxy({
      legacyUrl: legacy.url,
      functions: {
        notes: {
          handler: async (event: APIGatewayProxyEventV2) => {
            const body = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
            const query = event.rawQueryString === '' ? '' : `?${event.rawQueryString}`;
            atLambda.push({ target: `${event.rawPath}${query}`, body, requestId: String(event.headers['x-request-id']) });
            return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
          },
        },
      },
      groups: { notes: { flag: 'notes_flag', function: 'notes', routes: ['POST /notes', 'GET /{slug}/specials'], shadow: { writes: 'dry-run' } } },
      flags: [{ key: 'notes_flag', everyoneElse: 'shadow' }],
      extra: { store: { url: database.url, sample: { match: 100 }, queue: { flushMs: 25 } } },
    });
    await untilReady(s.proxy.adminUrl);
  });

  after(async () => {
    await s?.close();
    await legacy?.close();
    await database?.close();
    rmSync(home, { recursive: true, force: true });
  });

  /** The stored comparison's replay curls for a request sent through the proxy. */
  const replayOf = async (method: string, target: string, body: Buffer): Promise<{ legacy: string; new: string; requestId: string }> => {
    const requestId = await send(s.proxy.trafficUrl, method, target, body);
    let id: string | undefined;
    await until(async () => {
      const { diffs } = await (await fetch(`${s.proxy.adminUrl}/api/diffs?group=notes`)).json() as { diffs: Array<{ id: string; requestId: string }> };
      id = diffs.find((diff) => diff.requestId === requestId)?.id;
      return id;
    }, 'the comparison in the store');
    const { replay } = await (await fetch(`${s.proxy.adminUrl}/api/diffs/${id}`)).json() as { replay: { legacy: string; new: string } };
    return { ...replay, requestId };
  };

  /** Pastes a command and returns what the side received from it (the replay's request id ends in -replay). */
  const pasted = async (command: string, requestId: string, side: Received[]): Promise<Received> => {
    // A directory of its own for each paste, so a file one paste made cannot fail another.
    const dir = mkdtempSync(path.join(home, 'paste-'));
    const transcript = await pasteIntoBash(command, dir, { ...process.env, HOME: dir, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
    const created = ATTACKER_FILES.filter((name) => existsSync(path.join(dir, name)));
    assert.deepEqual(created, [], `no attacker file; the terminal showed:\n${transcript}`);
    const received = side.find((one) => one.requestId === `${requestId}-replay`);
    assert.ok(received, `the replay reached the side; the terminal showed:\n${transcript}`);
    return received;
  };

  const bodies = {
    'the issue\'s Ctrl-C body': Buffer.from('x\x03\ntouch pwned\n'),
    'quotes, $(), backticks, escapes, Ctrl-D, Ctrl-Z, DEL, a tab, CR, non-ASCII': Buffer.from("' $(touch pwned2) `touch pwned3` \x1b[31m\x04\x1a\x7f\u00e9\t\r\n\\%s%%"),
    'a leading dash': Buffer.from('--help'),
  };
  for (const [what, body] of Object.entries(bodies)) {
    it(`runs nothing a text body carries (${what}) and sends its bytes unchanged to both sides`, async () => {
      const replay = await replayOf('POST', '/notes', body);
      const received = await pasted(replay.legacy, replay.requestId, atLegacy);
      assert.equal(received.target, '/notes');
      assert.equal(received.note, NOTE, 'a header byte for byte');
      assert.deepEqual(received.body, body, 'the stored body, byte for byte');
      const invoked = await pasted(replay.new, replay.requestId, atLambda);
      assert.deepEqual(invoked.body, body, 'the new side is sent the same body');
      assert.doesNotMatch(replay.legacy + replay.new, /[^\x20-\x7e]/, 'the commands are printable ASCII: nothing a terminal acts on');
    });
  }

  it('sends a body that starts with @ as itself, never the file it names', async () => {
    writeFileSync(path.join(home, 'credentials'), 'aws_secret_access_key = SECRET\n');
    const body = Buffer.from(`@${path.join(home, 'credentials')}`);
    const replay = await replayOf('POST', '/notes', body);
    const received = await pasted(replay.legacy, replay.requestId, atLegacy);
    assert.deepEqual(received.body.toString(), body.toString());
  });

  for (const target of ['/\\evil.example/specials', '/%2e%2e/specials?q=a%20b&&x=%2e', '/%2E%2e/specials?']) {
    it(`sends the target ${target} to legacy byte for byte`, async () => {
      const replay = await replayOf('GET', target, Buffer.alloc(0));
      const received = await pasted(replay.legacy, replay.requestId, atLegacy);
      assert.equal(received.target, target.replace(/\?$/, ''), 'the target as stored (the store keeps no empty query)');
    });
  }
});
