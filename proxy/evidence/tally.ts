import type { Side } from '../decision/stage.js';

/** Where the request path counts what the review API summarises: routed requests, skipped shadows, evidence lost. */
export interface Tally {
  countRequest(group: string, route: string, stage: string, servedBy: Side): void;
  countSkip(group: string, route: string, reason: string): void;
  /** A comparison whose evidence is lost to the review: `shadow_timeout`, or the store's drop reasons. */
  countLost(group: string, route: string, reason: string): void;
}

/** Without a store nothing is summarised, and nothing may pile up in memory. */
export const NO_TALLY: Tally = { countRequest: () => undefined, countSkip: () => undefined, countLost: () => undefined };
