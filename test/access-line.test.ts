import assert from 'node:assert/strict';
import { pino } from 'pino';
import { type AccessLine, createLogger, forRequest } from '../proxy/telemetry/log.js';

/** The line the request path writes, and the line pino writes at `info` for the same fields, with their times made equal. */
function bothLines(line: AccessLine): { built: string; pinos: string } {
  const written: string[] = [];
  const logger = createLogger('info', { write: (text: string) => { written.push(text); } });
  forRequest(logger, line.requestId).access(line);
  logger.info(line, 'request');
  assert.equal(written.length, 2, 'one line each');
  const [built = '', pinos = ''] = written.map((text) => text.replace(/"time":\d+/, '"time":0'));
  return { built, pinos };
}

const SERVED: AccessLine = {
  requestId: 'req-0001', group: 'catalog', route: 'GET /products/{id}', stage: 'legacy', servedBy: 'legacy',
  status: 200, complete: true, primaryMs: 1.234567, failedOverMs: undefined, totalMs: 2.5,
};

describe('the access line', () => {
  it('is the line pino writes for the same fields, byte for byte: order, a field left undefined, the newline', () => {
    const { built, pinos } = bothLines(SERVED);
    assert.equal(built, pinos);
    assert.ok(built.endsWith('"msg":"request"}\n'), built);
  });

  it('stays pino\'s line for a client that left, a fallback, and names that need escaping', () => {
    const lines: AccessLine[] = [
      { ...SERVED, status: 'aborted', complete: false, primaryMs: undefined },
      { ...SERVED, stage: 'live', servedBy: 'legacy', failedOverMs: 12.5, primaryMs: 3 },
      { ...SERVED, group: 'a "quoted" group', route: 'GET /caf\u00e9/{id}', totalMs: 1e-7 },
      { ...SERVED, route: 'GET /back\\slash/{id}' },
      { ...SERVED, route: 'GET /line\nbreak/{id}' },
    ];
    for (const line of lines) {
      const { built, pinos } = bothLines(line);
      assert.equal(built, pinos);
    }
  });

  it('escapes a lone surrogate, so that the line read back from its UTF-8 bytes names the same route', () => {
    const route = 'GET /half-\ud800/{id}';
    const { built } = bothLines({ ...SERVED, route });
    assert.equal((JSON.parse(Buffer.from(built, 'utf8').toString('utf8')) as AccessLine).route, route);
  });

  it('writes nothing above info, as pino does', () => {
    const written: string[] = [];
    const logger = createLogger('warn', { write: (text: string) => { written.push(text); } });
    forRequest(logger, SERVED.requestId).access(SERVED);
    assert.deepEqual(written, []);
  });

  it('is refused a logger createLogger did not make, rather than written past it', () => {
    const child = createLogger('info', { write: () => undefined }).child({});
    assert.throws(() => forRequest(child, 'req-0002'), TypeError);
    assert.throws(() => forRequest(pino(), 'req-0003'), /createLogger/);
  });
});
