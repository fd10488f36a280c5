/**
 * The new side for the proxy benchmark: the local Lambda host serving a `catalog` function that
 * answers the same ~2 KB document as the legacy upstream, in its own process (like bench/upstream.ts).
 * `--delay-ms` makes the function slow, for the "shadow side slow" rows. Prints `listening URL`.
 *
 *   node --import tsx bench/lambda-upstream.ts [--delay-ms 2000]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startLambdaHost } from '../new-services/lambda-host/server.js';
import { PRODUCT_BODY, PRODUCT_CONTENT_TYPE } from './lib/body.js';

const { values } = parseArgs({ options: { 'delay-ms': { type: 'string', default: '0' } } });
const delayMs = Number(values['delay-ms']);

const host = await startLambdaHost({
  functions: {
    catalog: {
      handler: async () => {
        if (delayMs > 0) await sleep(delayMs);
        return { statusCode: 200, headers: { 'content-type': PRODUCT_CONTENT_TYPE }, body: PRODUCT_BODY };
      },
    },
  },
});
console.log(`listening ${host.url}`);
