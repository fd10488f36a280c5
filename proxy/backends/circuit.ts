import type { CircuitConfig } from '../config/config.js';

export type CircuitState = 'closed' | 'open' | 'half_open';

/**
 * A breaker around one side of a group: the new side as primary, or either side as a shadow. Closed, it lets everything through and counts failures
 * in a row; at the threshold it opens and refuses for `openMs`; then it lets one probe through
 * (half-open), which closes it on success or opens it again on failure.
 */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private current: CircuitState = 'closed';

  constructor(
    private readonly config: CircuitConfig,
    private readonly onChange: (state: CircuitState) => void = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    return this.current;
  }

  /** Whether a request may go to the side now; in half-open only the one probe may. */
  permit(): boolean {
    if (this.current === 'open' && this.now() - this.openedAt >= this.config.openMs) this.enter('half_open');
    if (this.current === 'closed') return true;
    if (this.current === 'half_open' && !this.probing) {
      this.probing = true;
      return true;
    }
    return false;
  }

  success(): void {
    this.failures = 0;
    this.probing = false;
    this.enter('closed');
  }

  failure(): void {
    this.failures += 1;
    this.probing = false;
    if (this.current === 'half_open' || this.failures >= this.config.failures) {
      this.openedAt = this.now();
      this.enter('open');
    }
  }

  private enter(state: CircuitState): void {
    if (state === this.current) return;
    this.current = state;
    this.onChange(state);
  }
}
