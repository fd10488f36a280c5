export interface Line { product: number; quantity: number }
export interface Center { id: number; zones: readonly string[]; stock: ReadonlyMap<number, number> }
export interface PlannedShipment { center: number; lines: Line[] }

export class CannotAllocate extends Error {}

/** Centers that serve the zone come first, then the rest; ids break ties so plans are repeatable. */
function byPreference(centers: readonly Center[], zone: string): Center[] {
  const serves = (center: Center) => (center.zones.includes(zone) ? 0 : 1);
  return [...centers].sort((a, b) => serves(a) - serves(b) || a.id - b.id);
}

/**
 * Decides which centers ship which units of an order. One shipment from the most preferred
 * center that holds every line; when none does, the order is split: each center in order of
 * preference ships what it holds of what is still open. Pure: the caller locks and applies it.
 */
export function allocate(lines: readonly Line[], centers: readonly Center[], zone: string): PlannedShipment[] {
  const ranked = byPreference(centers, zone);
  const whole = ranked.find((center) => lines.every((line) => (center.stock.get(line.product) ?? 0) >= line.quantity));
  if (whole) return [{ center: whole.id, lines: lines.map((line) => ({ ...line })) }];

  const open = new Map(lines.map((line) => [line.product, line.quantity]));
  const plan: PlannedShipment[] = [];
  for (const center of ranked) {
    const taken: Line[] = [];
    for (const [product, wanted] of open) {
      const quantity = Math.min(wanted, center.stock.get(product) ?? 0);
      if (quantity === 0) continue;
      taken.push({ product, quantity });
      if (quantity === wanted) open.delete(product);
      else open.set(product, wanted - quantity);
    }
    if (taken.length > 0) plan.push({ center: center.id, lines: taken });
  }
  if (open.size > 0) {
    const [product, quantity] = [...open][0] ?? [];
    throw new CannotAllocate(`no center holds the last ${quantity} of product ${product}`);
  }
  return plan;
}
