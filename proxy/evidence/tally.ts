import type { Side } from '../decision/stage.js';

/** Where the request path counts what the review API summarises: routed requests and skipped shadows. */
export interface Tally {
  countRequest(group: string, stage: string, servedBy: Side): void;
  countSkip(group: string, reason: string): void;
}

/** Without a store nothing is summarised, and nothing may pile up in memory. */
export const NO_TALLY: Tally = { countRequest: () => undefined, countSkip: () => undefined };
