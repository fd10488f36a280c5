import type pg from 'pg';
import type { OrderLineRow, OrderRow, ShipmentLineRow, ShipmentRow } from './resources.js';

type Queryable = pg.Pool | pg.PoolClient;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isOrderId(id: string): boolean {
  return UUID.test(id);
}

export async function findOrder(db: Queryable, id: string, lock = false): Promise<OrderRow | undefined> {
  if (!isOrderId(id)) return undefined;
  const { rows } = await db.query<OrderRow>(`SELECT * FROM orders WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0];
}

export async function linesOf(db: Queryable, orderIds: string[]): Promise<Map<string, OrderLineRow[]>> {
  const { rows } = await db.query<OrderLineRow>('SELECT * FROM order_lines WHERE order_id = ANY($1) ORDER BY order_id, line_number', [orderIds]);
  const byOrder = new Map<string, OrderLineRow[]>(orderIds.map((id) => [id, []]));
  for (const row of rows) byOrder.get(row.order_id)?.push(row);
  return byOrder;
}

export async function shipmentsOf(db: Queryable, orderId: string): Promise<Array<{ shipment: ShipmentRow; lines: ShipmentLineRow[] }>> {
  const { rows: shipments } = await db.query<ShipmentRow>(
    `SELECT s.*, c.code AS center_code FROM shipments s JOIN fulfillment_centers c ON c.id = s.center_id
     WHERE s.order_id = $1 ORDER BY c.id`, [orderId]);
  const { rows: lines } = await db.query<ShipmentLineRow>(
    'SELECT * FROM shipment_lines WHERE shipment_id = ANY($1) ORDER BY product_id', [shipments.map((shipment) => shipment.id)]);
  return shipments.map((shipment) => ({ shipment, lines: lines.filter((line) => line.shipment_id === shipment.id) }));
}
