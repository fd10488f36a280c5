/**
 * The new side for the proxy benchmark: the local Lambda host serving a `catalog` function that
 * answers the same ~2 KB document as the legacy upstream, in its own process (like bench/upstream.ts).
 * `--delay-ms` makes the function slow, for the "shadow side slow" rows; `--differs` makes it
 * answer the product's price of 8.99 as 9.99, so that every comparison is a mismatch, which the store keeps (a bad
 * release of the new side). Prints `listening URL`.
 *
 *   node --import tsx bench/lambda-upstream.ts [--delay-ms 2000] [--differs]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { startLambdaHost } from '../new-services/lambda-host/server.js';
import { PRODUCT_BODY, PRODUCT_CONTENT_TYPE } from './lib/body.js';

const { values } = parseArgs({ options: { 'delay-ms': { type: 'string', default: '0' }, differs: { type: 'boolean', default: false } } });
const delayMs = Number(values['delay-ms']);
const body = values.differs ? PRODUCT_BODY.replace('"price":8.99', '"price":9.99') : PRODUCT_BODY;
if (body === PRODUCT_BODY && values.differs) throw new Error('--differs: the bench document has no "price":8.99 to change');

const host = await startLambdaHost({
  functions: {
    catalog: {
      handler: async () => {
        if (delayMs > 0) await sleep(delayMs);
        return { statusCode: 200, headers: { 'content-type': PRODUCT_CONTENT_TYPE }, body };
      },
    },
  },
});
console.log(`listening ${host.url}`);
