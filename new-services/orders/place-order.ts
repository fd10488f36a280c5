import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { transaction, wholeSecondNow } from '../common/database.js';
import { problem } from '../common/jsonapi.js';
import type { OrderRequest } from './order-request.js';
import type { OrderLineRow, OrderRow } from './resources.js';

export interface PlacedOrder { order: OrderRow; lines: OrderLineRow[] }

/**
 * Prices the lines from the catalog and reserves their stock in one transaction. The product
 * rows are locked in id order first, so concurrent orders for the same product queue up and
 * each sees the reservations of those before it: stock is never sold twice, and two orders
 * never wait on each other in opposite orders.
 */
export async function placeOrder(db: pg.Pool, request: OrderRequest, persist: boolean): Promise<PlacedOrder> {
  try {
    return await transaction(db, persist, async (client) => {
      if (request.id !== undefined) {
        const { rows: existing } = await client.query('SELECT 1 FROM orders WHERE id = $1', [request.id]);
        if (existing.length > 0) throw problem(409, 'order_exists', `An order with id ${request.id} already exists.`, '/data/id');
      }

      const productIds = request.lines.map((line) => line.product);
      const { rows: products } = await client.query<{ id: number; price_cents: number }>(
        'SELECT id, price_cents FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE', [productIds]);
      const prices = new Map(products.map((product) => [product.id, product.price_cents]));
      const unknown = request.lines.find((line) => !prices.has(line.product));
      if (unknown) throw problem(422, 'unknown_product', `There is no product with id ${unknown.product}.`, `${unknown.pointer}/product`);

      const { rows: zones } = await client.query('SELECT 1 FROM fulfillment_centers WHERE $1 = ANY(shipping_zones) LIMIT 1', [request.shippingZone]);
      if (zones.length === 0) throw problem(422, 'unknown_shipping_zone', `No fulfillment center ships to zone ${request.shippingZone}.`, '/data/attributes/shippingZone');

      const { rows: availability } = await client.query<{ product_id: number; available: string }>(
        `SELECT p.id AS product_id,
                coalesce((SELECT sum(quantity) FROM stock s WHERE s.product_id = p.id), 0)
              - coalesce((SELECT sum(quantity) FROM reservations r WHERE r.product_id = p.id), 0) AS available
         FROM products p WHERE p.id = ANY($1)`, [productIds]);
      const available = new Map(availability.map((row) => [row.product_id, Number(row.available)]));
      const short = request.lines.find((line) => line.quantity > (available.get(line.product) ?? 0));
      if (short) {
        throw problem(409, 'insufficient_stock', `Only ${available.get(short.product) ?? 0} of product ${short.product} can be ordered now (asked for ${short.quantity}).`, `${short.pointer}/quantity`);
      }

      const now = wholeSecondNow();
      const id = request.id ?? randomUUID();
      const lines: OrderLineRow[] = request.lines.map((line, index) => ({
        order_id: id, line_number: index + 1, product_id: line.product, quantity: line.quantity, unit_price_cents: prices.get(line.product) ?? 0,
      }));
      const order: OrderRow = {
        id, customer: request.customer, shipping_zone: request.shippingZone, status: 'placed',
        total_cents: lines.reduce((sum, line) => sum + line.unit_price_cents * line.quantity, 0), created_at: now, updated_at: now,
      };
      await client.query(
        `INSERT INTO orders (id, customer, shipping_zone, status, total_cents, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [order.id, order.customer, order.shipping_zone, order.status, order.total_cents, order.created_at, order.updated_at]);
      for (const line of lines) {
        await client.query('INSERT INTO order_lines (order_id, line_number, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4, $5)',
          [id, line.line_number, line.product_id, line.quantity, line.unit_price_cents]);
        await client.query('INSERT INTO reservations (order_id, product_id, quantity) VALUES ($1, $2, $3)', [id, line.product_id, line.quantity]);
      }
      return { order, lines };
    });
  } catch (error) {
    // Two requests racing with the same client-generated id: the loser meets the primary key.
    if ((error as { code?: string }).code === '23505') throw problem(409, 'order_exists', `An order with id ${request.id} already exists.`, '/data/id');
    throw error;
  }
}
