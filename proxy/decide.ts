import type { EventDispatcher } from '@optimizely/optimizely-sdk';
import { type Config, loadConfig } from './config/config.js';
import { type Decision, Flags } from './decision/flags.js';
import { createLogger, type Logger } from './telemetry/log.js';
import { Overrides } from './decision/overrides.js';
import { StoreDatabase } from './store/database.js';

/**
 * The proxy's decision for other projects (package export `cutover/decide`): the same datafile
 * source, the same overrides from the same store, the same code. A storefront asks
 * `decider.decide('orders', customerId)` and gets the stage the proxy gives that caller.
 */
export interface Decider {
  /** The stage the caller is served: an impression in Optimizely when A/B events are configured. */
  decide(group: string, caller: string): Decision;
  /** The groups, with the flag each is decided by. */
  readonly groups: ReadonlyArray<{ readonly name: string; readonly flag: string }>;
  close(): Promise<void>;
}

/** How often a store that could not be opened is tried again. */
const REOPEN_MS = 2_000;

/**
 * Opens a decider from a proxy's configuration (its file, or the parsed object). With a store
 * server (`store.url`) the overrides are the fleet's, read as the proxies read them; an embedded
 * store belongs to one proxy, so without `store.url` only the flags decide. With `flags.events`
 * configured, each decision is an impression sent through `dispatcher` (the SDK's own by default).
 */
export async function openDecider(options: { config: string | Config; log?: Logger; dispatcher?: EventDispatcher }): Promise<Decider> {
  const config = typeof options.config === 'string' ? loadConfig(options.config) : options.config;
  const log = options.log ?? createLogger(config.log.level);
  const location = config.store.location;
  let store: StoreDatabase | undefined;
  let closed = false;
  const overrides = new Overrides(new Set(config.groups.map((group) => group.name)), () => store, location.kind === 'server', log, config.store.overrides);
  const flags = await Flags.open(config.flags, config.groups, { log, overrides, ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}) });
  let retry: NodeJS.Timeout | undefined;
  const open = async (url: string): Promise<void> => {
    try {
      const opened = await StoreDatabase.open(url, (error) => log.warn({ err: error }, `decide: a store connection broke: ${error.message}`));
      if (closed) return void opened.close();
      store = opened;
    } catch (error) {
      log.warn({ err: error }, `decide: cannot open the store (${(error as Error).message}); overrides are unknown until it answers`);
      if (!closed) retry = setTimeout(() => void open(url), REOPEN_MS).unref();
    }
  };
  if (location.kind === 'server') await open(location.url);
  overrides.start();
  return {
    groups: config.groups.map((group) => ({ name: group.name, flag: group.flag })),
    decide: (group, caller) => flags.decide(group, caller, { impression: true }),
    async close() {
      closed = true;
      clearTimeout(retry);
      await overrides.close();
      await store?.close();
      await flags.close();
    },
  };
}
