import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type pg from 'pg';
import { transaction, wholeSecondNow } from '../common/database.js';
import type { LambdaHandler } from '../common/lambda.js';
import { allocate, type Center } from './allocation.js';
import { type FulfillmentMessage, readMessage, type ScanStatus, UnreadableMessage } from './messages.js';
import { scanOutcome, type ShipmentStatus } from './shipment-status.js';

export type FulfillmentHandler = LambdaHandler<SQSEvent, SQSBatchResponse>;

/**
 * Turns an order's reservations into shipments. Idempotent: the reservations are consumed in the
 * same transaction that creates the shipments, so a redelivered message finds none and does
 * nothing; so does a message for a cancelled order.
 */
async function allocateOrder(db: pg.Pool, orderId: string, log: (line: string) => void): Promise<void> {
  await transaction(db, true, async (client) => {
    const { rows: orders } = await client.query<{ status: string; shipping_zone: string }>('SELECT status, shipping_zone FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
    const order = orders[0];
    if (!order) return log(`fulfillment: order ${orderId} does not exist; nothing to allocate`);
    const { rows: reserved } = await client.query<{ product_id: number; quantity: number }>(
      'SELECT product_id, quantity FROM reservations WHERE order_id = $1 ORDER BY product_id', [orderId]);
    if (order.status !== 'placed' || reserved.length === 0) return;

    const products = reserved.map((row) => row.product_id);
    await client.query('SELECT id FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE', [products]);
    const { rows: stock } = await client.query<{ center_id: number; zones: string[]; product_id: number; quantity: number }>(
      `SELECT c.id AS center_id, c.shipping_zones AS zones, s.product_id, s.quantity
       FROM fulfillment_centers c JOIN stock s ON s.center_id = c.id WHERE s.product_id = ANY($1)`, [products]);
    const centers = new Map<number, Center & { stock: Map<number, number> }>();
    for (const row of stock) {
      const center = centers.get(row.center_id) ?? { id: row.center_id, zones: row.zones, stock: new Map<number, number>() };
      center.stock.set(row.product_id, row.quantity);
      centers.set(row.center_id, center);
    }
    const plan = allocate(reserved.map((row) => ({ product: row.product_id, quantity: row.quantity })), [...centers.values()], order.shipping_zone);

    const now = wholeSecondNow();
    for (const shipment of plan) {
      const id = randomUUID();
      await client.query(`INSERT INTO shipments (id, order_id, center_id, status, created_at, updated_at) VALUES ($1, $2, $3, 'allocated', $4, $4)`,
        [id, orderId, shipment.center, now]);
      for (const line of shipment.lines) {
        await client.query('INSERT INTO shipment_lines (shipment_id, product_id, quantity) VALUES ($1, $2, $3)', [id, line.product, line.quantity]);
        await client.query('UPDATE stock SET quantity = quantity - $3 WHERE product_id = $1 AND center_id = $2', [line.product, shipment.center, line.quantity]);
      }
    }
    await client.query('DELETE FROM reservations WHERE order_id = $1', [orderId]);
  });
}

async function scanShipment(db: pg.Pool, shipmentId: string, scanned: ScanStatus, log: (line: string) => void): Promise<void> {
  await transaction(db, true, async (client) => {
    const { rows } = await client.query<{ status: ShipmentStatus }>('SELECT status FROM shipments WHERE id::text = $1 FOR UPDATE', [shipmentId]);
    const shipment = rows[0];
    if (!shipment) return log(`fulfillment: scan of unknown shipment ${shipmentId} ignored`);
    const outcome = scanOutcome(shipment.status, scanned);
    if (outcome === 'refused') return log(`fulfillment: shipment ${shipmentId} is ${shipment.status}; scan "${scanned}" refused`);
    if (outcome === 'advance') await client.query('UPDATE shipments SET status = $2, updated_at = $3 WHERE id = $1::uuid', [shipmentId, scanned, wholeSecondNow()]);
  });
}

async function handle(db: pg.Pool, message: FulfillmentMessage, log: (line: string) => void): Promise<void> {
  if (message.type === 'order-placed') return allocateOrder(db, message.orderId, log);
  return scanShipment(db, message.shipmentId, message.status, log);
}

/**
 * The fulfillment function behind the SQS event source mapping. Each record stands alone: one
 * that fails is reported in batchItemFailures (the mapping has ReportBatchItemFailures), so SQS
 * redelivers it, and after maxReceiveCount moves it to the dead-letter queue, without
 * redelivering the others.
 */
export function createFulfillmentHandler(db: pg.Pool, log: (line: string) => void = (line) => console.error(line)): FulfillmentHandler {
  return async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    for (const record of event.Records) {
      try {
        await handle(db, readMessage(record.body), log);
      } catch (error) {
        const kind = error instanceof UnreadableMessage ? 'unreadable message' : 'failed';
        log(`fulfillment: message ${record.messageId} ${kind}: ${(error as Error).message}`);
        batchItemFailures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures };
  };
}
