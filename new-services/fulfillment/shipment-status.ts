import type { ScanStatus } from './messages.js';

export type ShipmentStatus = 'allocated' | 'picked' | 'shipped' | 'delivered' | 'cancelled';

const PROGRESS: readonly ShipmentStatus[] = ['allocated', 'picked', 'shipped', 'delivered'];

export type ScanOutcome = 'advance' | 'already' | 'refused';

/**
 * A scan moves a shipment one step along allocated -> picked -> shipped -> delivered. A scan the
 * shipment has already passed is a redelivery and changes nothing; skipping a step, or scanning
 * a cancelled shipment, is refused.
 */
export function scanOutcome(current: ShipmentStatus, scanned: ScanStatus): ScanOutcome {
  if (current === 'cancelled') return 'refused';
  const from = PROGRESS.indexOf(current);
  const to = PROGRESS.indexOf(scanned);
  if (to <= from) return 'already';
  return to === from + 1 ? 'advance' : 'refused';
}
