import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { ApiError } from './jsonapi.js';

export interface CheckoutLine { product: number; quantity: number; index: number }

/**
 * The monolith's checkout: in one transaction it prices the lines, checks the stock and picks
 * the warehouses at once (there is no separate fulfillment step in the old system): first the
 * warehouse in the customer's zone that has everything, else it takes what each warehouse has,
 * in-zone ones first. Product rows are locked in id order, the same as the new services do,
 * because both write the same tables.
 */
export async function checkout(client: pg.PoolClient, orderId: string, lines: CheckoutLine[], zone: string, now: Date): Promise<Map<number, number>> {
  const ids = lines.map((line) => line.product);
  const { rows: products } = await client.query<{ id: number; price_cents: number }>('SELECT id, price_cents FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE', [ids]);
  const prices = new Map<number, number>();
  for (const product of products) prices.set(product.id, product.price_cents);
  for (const line of lines) {
    if (!prices.has(line.product)) throw new ApiError(422, 'unknown_product', `There is no product with id ${line.product}.`, { pointer: `/data/attributes/lines/${line.index}/product` });
  }
  const { rows: centers } = await client.query<{ id: number; shipping_zones: string[] }>('SELECT id, shipping_zones FROM fulfillment_centers ORDER BY id');
  if (!centers.some((center) => center.shipping_zones.includes(zone))) {
    throw new ApiError(422, 'unknown_shipping_zone', `No fulfillment center ships to zone ${zone}.`, { pointer: '/data/attributes/shippingZone' });
  }
  const { rows: stock } = await client.query<{ product_id: number; center_id: number; quantity: number }>('SELECT * FROM stock WHERE product_id = ANY($1)', [ids]);
  const { rows: held } = await client.query<{ product_id: number; quantity: string }>(
    'SELECT product_id, sum(quantity) AS quantity FROM reservations WHERE product_id = ANY($1) GROUP BY product_id', [ids]);
  for (const line of lines) {
    const onHand = stock.filter((row) => row.product_id === line.product).reduce((sum, row) => sum + row.quantity, 0);
    const available = onHand - Number(held.find((row) => row.product_id === line.product)?.quantity ?? 0);
    if (line.quantity > available) {
      throw new ApiError(409, 'insufficient_stock', `Only ${available} of product ${line.product} can be ordered now (asked for ${line.quantity}).`, { pointer: `/data/attributes/lines/${line.index}/quantity` });
    }
  }

  // Units that the new services' orders hold are not tied to a warehouse, so any warehouse may
  // give stock to this order: the check above keeps the total on hand above what is held.
  const ordered = [...centers].sort((a, b) => Number(!a.shipping_zones.includes(zone)) - Number(!b.shipping_zones.includes(zone)) || a.id - b.id);
  const has = (center: number, product: number) => stock.find((row) => row.center_id === center && row.product_id === product)?.quantity ?? 0;
  const picks: Array<{ center: number; product: number; quantity: number }> = [];
  const whole = ordered.find((center) => lines.every((line) => has(center.id, line.product) >= line.quantity));
  if (whole) {
    for (const line of lines) picks.push({ center: whole.id, product: line.product, quantity: line.quantity });
  } else {
    const open = new Map(lines.map((line) => [line.product, line.quantity]));
    for (const center of ordered) {
      for (const [product, wanted] of open) {
        const take = Math.min(wanted, has(center.id, product));
        if (take > 0) picks.push({ center: center.id, product, quantity: take });
        if (take === wanted) open.delete(product);
        else open.set(product, wanted - take);
      }
    }
  }
  for (const center of new Set(picks.map((pick) => pick.center))) {
    const shipmentId = randomUUID();
    await client.query(`INSERT INTO shipments (id, order_id, center_id, status, created_at, updated_at) VALUES ($1, $2, $3, 'allocated', $4, $4)`, [shipmentId, orderId, center, now]);
    for (const pick of picks.filter((p) => p.center === center)) {
      await client.query('INSERT INTO shipment_lines (shipment_id, product_id, quantity) VALUES ($1, $2, $3)', [shipmentId, pick.product, pick.quantity]);
      await client.query('UPDATE stock SET quantity = quantity - $3 WHERE product_id = $1 AND center_id = $2', [pick.product, center, pick.quantity]);
    }
  }
  return prices;
}
