import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';

/**
 * `npm run demo:traffic`: a bounded, realistic mix of pet-store browsing and ordering from many
 * callers, sent through the proxy so that the groups, their match rates and their diffs fill up
 * within a minute of `npm start`. Deterministic for a given seed.
 */
export interface TrafficOptions { url: string; requests: number; callers: number; concurrency: number; seed: number }

interface Call { method: 'GET' | 'POST' | 'PATCH'; path: string; body?: unknown }

const CATEGORIES = ['dog-food', 'cat-food', 'toys', 'aquarium', 'birds', 'small-pets'];
const SORTS = ['name', '-price', 'price', '-createdAt'];
const ZONES = ['west', 'mountain', 'central', 'east'];
const FIRST_PRODUCT = 1001;
const PRODUCTS = 30;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** What one caller does next: mostly browsing, sometimes an order, now and then a mistake. */
function nextCall(roll: () => number, customer: string, placed: string[]): Call {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(roll() * items.length)] as T;
  const product = () => String(FIRST_PRODUCT + Math.floor(roll() * PRODUCTS));
  const r = roll();
  if (r < 0.25) return { method: 'GET', path: `/products?page[number]=${1 + Math.floor(roll() * 3)}&page[size]=10` };
  if (r < 0.4) return { method: 'GET', path: `/products?filter[category]=${pick(CATEGORIES)}&sort=${pick(SORTS)}&include=category` };
  if (r < 0.55) return { method: 'GET', path: `/products/${product()}${roll() < 0.3 ? '?include=category' : ''}` };
  if (r < 0.62) return { method: 'GET', path: '/categories' };
  if (r < 0.75) {
    const lines = Array.from({ length: 1 + Math.floor(roll() * 3) }, product).filter((id, index, all) => all.indexOf(id) === index);
    return { method: 'POST', path: '/orders', body: { data: { type: 'orders', attributes: { customer, shippingZone: pick(ZONES), lines: lines.map((id) => ({ product: id, quantity: 1 + Math.floor(roll() * 3) })) } } } };
  }
  if (r < 0.85 && placed.length > 0) return { method: 'GET', path: `/orders/${pick(placed)}${roll() < 0.5 ? '/shipments' : ''}` };
  if (r < 0.92) return { method: 'GET', path: `/orders?filter[customer]=${customer}` };
  if (r < 0.95 && placed.length > 0) {
    const id = placed.splice(Math.floor(roll() * placed.length), 1)[0];
    return { method: 'PATCH', path: `/orders/${id}`, body: { data: { type: 'orders', id, attributes: { status: 'cancelled' } } } };
  }
  if (r < 0.97) return { method: 'POST', path: '/orders', body: { data: { type: 'orders', attributes: { customer, shippingZone: 'west', lines: [{ product: '9999', quantity: 1 }] } } } };
  if (r < 0.99) return { method: 'GET', path: '/products?include=reviews' };
  return { method: 'GET', path: `/products/${FIRST_PRODUCT + 500}` };
}

export async function sendTraffic(options: TrafficOptions, log: (line: string) => void = console.log): Promise<Map<string, number>> {
  const roll = random(options.seed);
  const placed = new Map<string, string[]>();
  const outcomes = new Map<string, number>();
  let sent = 0;
  const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);

  const caller = async (): Promise<void> => {
    while (sent < options.requests) {
      sent += 1;
      const customer = `customer-${1 + Math.floor(roll() * options.callers)}`;
      const orders = placed.get(customer) ?? [];
      placed.set(customer, orders);
      const call = nextCall(roll, customer, orders);
      try {
        const response = await fetch(`${options.url}${call.path}`, {
          method: call.method,
          headers: { 'x-customer-id': customer, accept: 'application/vnd.api+json', ...(call.body ? { 'content-type': 'application/vnd.api+json' } : {}) },
          ...(call.body ? { body: JSON.stringify(call.body) } : {}),
        });
        const text = await response.text();
        if (call.method === 'POST' && response.status === 201) orders.push((JSON.parse(text) as { data: { id: string } }).data.id);
        count(`${call.method} ${response.status}`);
      } catch (error) {
        count(`${call.method} failed: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, caller));
  for (const [outcome, total] of [...outcomes].sort()) log(`  ${outcome.padEnd(16)} ${total}`);
  return outcomes;
}

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('A positive integer is needed.');
  return number;
}

function program(): Command {
  return new Command('npm run demo:traffic --')
    .description('Send a realistic mix of pet-store traffic (browsing, orders, order look-ups, cancellations, a few mistakes) through the proxy of `npm start`.')
    .option('--url <url>', 'the proxy\'s traffic port (or CUTOVER_TRAFFIC_URL)', process.env.CUTOVER_TRAFFIC_URL ?? 'http://127.0.0.1:8080')
    .option('--admin <url>', 'the proxy\'s admin port, where the evidence is read (or CUTOVER_ADMIN_URL)', process.env.CUTOVER_ADMIN_URL ?? 'http://127.0.0.1:9901')
    .option('--requests <n>', 'requests to send', positiveInteger, 600)
    .option('--callers <n>', 'distinct callers (x-customer-id customer-1…customer-N)', positiveInteger, 40)
    .option('--concurrency <n>', 'requests in flight at once', positiveInteger, 8)
    .option('--seed <n>', 'the same seed sends the same requests', positiveInteger, 7)
    .addHelpText('after', '\nExamples:\n  npm run demo:traffic\n  npm run demo:traffic -- --requests 2000 --concurrency 16\n  npm run demo:traffic -- --url http://127.0.0.1:8080 --seed 42\n  npm run demo:traffic -- --url http://127.0.0.1:8084 --admin http://127.0.0.1:9904\n')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`demo:traffic: ${text.replace(/^error: /, '').trim()} (see npm run demo:traffic -- --help)\n`) });
}

async function main(argv: string[]): Promise<void> {
  const values = program().parse(argv, { from: 'user' }).opts<Omit<TrafficOptions, 'url'> & { url: string; admin: string }>();
  const options = { ...values, url: values.url.replace(/\/$/, '') };
  console.log(`demo:traffic: ${options.requests} requests from ${options.callers} callers to ${options.url}`);
  const started = Date.now();
  const outcomes = await sendTraffic(options);
  if ([...outcomes.keys()].every((outcome) => outcome.includes(' failed: '))) throw new Error(`no request reached ${options.url}: is the demo stack running (npm start)?`);
  console.log(`demo:traffic: done in ${((Date.now() - started) / 1000).toFixed(1)} s; see the groups at ${values.admin.replace(/\/$/, '')}/ and ${values.admin.replace(/\/$/, '')}/api/groups`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    // --help exits 0; a bad option (already printed as one line) exits 2; a failed run exits 1.
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    console.error(`demo:traffic: ${(error as Error).message}`);
    process.exit(1);
  });
}
