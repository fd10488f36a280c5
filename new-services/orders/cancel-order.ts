import type pg from 'pg';
import { transaction, wholeSecondNow } from '../common/database.js';
import { problem } from '../common/jsonapi.js';
import { findOrder } from './order-store.js';
import type { OrderRow } from './resources.js';

/**
 * Cancels an order that has not shipped: its open reservations are released, and the stock of
 * its allocated or picked shipments goes back to their centers. Locks the order, then its
 * products in id order, as fulfillment does, so the two never deadlock. Cancelling a cancelled
 * order changes nothing. Returns undefined when there is no such order.
 */
export async function cancelOrder(db: pg.Pool, id: string, persist: boolean): Promise<OrderRow | undefined> {
  return transaction(db, persist, async (client) => {
    const order = await findOrder(client, id, true);
    if (!order || order.status === 'cancelled') return order;
    const { rows: sent } = await client.query<{ status: string }>(
      `SELECT status FROM shipments WHERE order_id = $1 AND status IN ('shipped', 'delivered') LIMIT 1`, [id]);
    if (sent[0]) throw problem(409, 'already_shipped', `Order ${id} has a shipment that is ${sent[0].status}; it can no longer be cancelled.`, '/data/attributes/status');

    await client.query('SELECT id FROM products WHERE id IN (SELECT product_id FROM order_lines WHERE order_id = $1) ORDER BY id FOR UPDATE', [id]);
    await client.query(
      `UPDATE stock st SET quantity = st.quantity + back.quantity
       FROM (SELECT s.center_id, l.product_id, l.quantity FROM shipments s JOIN shipment_lines l ON l.shipment_id = s.id
             WHERE s.order_id = $1 AND s.status IN ('allocated', 'picked')) back
       WHERE st.center_id = back.center_id AND st.product_id = back.product_id`, [id]);
    const now = wholeSecondNow();
    await client.query(`UPDATE shipments SET status = 'cancelled', updated_at = $2 WHERE order_id = $1 AND status IN ('allocated', 'picked')`, [id, now]);
    await client.query('DELETE FROM reservations WHERE order_id = $1', [id]);
    const { rows } = await client.query<OrderRow>(`UPDATE orders SET status = 'cancelled', updated_at = $2 WHERE id = $1 RETURNING *`, [id, now]);
    return rows[0];
  });
}
