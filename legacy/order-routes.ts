import { randomUUID } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import type pg from 'pg';
import { checkout, type CheckoutLine } from './checkout.js';
import { ApiError, body, isDryRun, queryOf, send } from './jsonapi.js';

interface OrderRow { id: string; customer: string; shipping_zone: string; status: string; created_at: Date; updated_at: Date }
interface LineRow { order_id: string; product_id: number; quantity: number; unit_price_cents: number }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The monolith's order document. Its totals are added up in floating-point dollars from the
 * lines every time an order is shown (so 3 x 12.49 is 37.47000000000001), and its timestamps
 * keep their milliseconds.
 */
function orderDoc(order: OrderRow, lines: LineRow[]) {
  let total = 0;
  const shown = lines.map((line) => {
    const unitPrice = line.unit_price_cents / 100;
    total += unitPrice * line.quantity;
    return { product: String(line.product_id), quantity: line.quantity, unitPrice, lineTotal: unitPrice * line.quantity };
  });
  return {
    type: 'orders',
    id: order.id,
    attributes: {
      customer: order.customer, status: order.status, shippingZone: order.shipping_zone, lines: shown, total, currency: 'USD',
      createdAt: order.created_at.toISOString(), updatedAt: order.updated_at.toISOString(),
    },
    relationships: { shipments: { links: { related: `/orders/${order.id}/shipments` } } },
    links: { self: `/orders/${order.id}` },
  };
}

function obj(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(status: number, code: string, detail: string, pointer: string): ApiError {
  return new ApiError(status, code, detail, { pointer });
}

/** The old checkout form's validation, rule by rule, in the order the new services check too. */
function validateOrder(doc: unknown): { id?: string; customer: string; zone: string; lines: CheckoutLine[] } {
  if (!obj(doc) || !('data' in doc)) throw invalid(400, 'invalid_document', 'The request document needs a top-level data member.', '');
  const data = doc.data;
  if (!obj(data)) throw invalid(400, 'invalid_document', 'data is a resource object.', '/data');
  if (data.type !== 'orders') throw invalid(409, 'type_mismatch', `This collection holds orders, not ${JSON.stringify(data.type)}.`, '/data/type');
  if (data.id !== undefined && (typeof data.id !== 'string' || !UUID.test(data.id))) throw invalid(422, 'invalid_id', 'A client-generated order id is a UUID.', '/data/id');
  const a = data.attributes;
  if (!obj(a)) throw invalid(422, 'missing_attributes', 'An order needs attributes: customer, shippingZone and lines.', '/data/attributes');
  for (const name of Object.keys(a)) {
    if (!['customer', 'shippingZone', 'lines'].includes(name)) throw invalid(422, 'unknown_attribute', `An order has no attribute ${name}.`, `/data/attributes/${name}`);
  }
  if (typeof a.customer !== 'string' || a.customer.trim() === '' || a.customer.length > 100) {
    throw invalid(422, 'invalid_customer', 'customer is a non-empty string of at most 100 characters.', '/data/attributes/customer');
  }
  if (typeof a.shippingZone !== 'string' || a.shippingZone === '') throw invalid(422, 'invalid_shipping_zone', 'shippingZone names a shipping zone.', '/data/attributes/shippingZone');
  if (!Array.isArray(a.lines) || a.lines.length === 0) throw invalid(422, 'invalid_lines', 'lines is a non-empty list of {product, quantity}.', '/data/attributes/lines');
  if (a.lines.length > 50) throw invalid(422, 'invalid_lines', 'An order has at most 50 lines.', '/data/attributes/lines');
  const lines: CheckoutLine[] = [];
  a.lines.forEach((line: unknown, index: number) => {
    const at = `/data/attributes/lines/${index}`;
    if (!obj(line)) throw invalid(422, 'invalid_line', 'A line is an object with product and quantity.', at);
    for (const name of Object.keys(line)) {
      if (name !== 'product' && name !== 'quantity') throw invalid(422, 'unknown_attribute', `A line has no member ${name}.`, `${at}/${name}`);
    }
    if (typeof line.product !== 'string' || !/^\d{1,9}$/.test(line.product)) throw invalid(422, 'invalid_product', 'product is the id of a product, as a string.', `${at}/product`);
    if (lines.some((seen) => seen.product === Number(line.product))) throw invalid(422, 'duplicate_product', `Product ${line.product} is on more than one line; order it on one line.`, `${at}/product`);
    if (typeof line.quantity !== 'number' || !Number.isInteger(line.quantity)) throw invalid(422, 'invalid_quantity', 'quantity is a whole number.', `${at}/quantity`);
    if (line.quantity < 1) throw invalid(422, 'invalid_quantity', `quantity must be at least 1 (got ${line.quantity}).`, `${at}/quantity`);
    if (line.quantity > 1000) throw invalid(422, 'invalid_quantity', `quantity must be at most 1000 (got ${line.quantity}).`, `${at}/quantity`);
    lines.push({ product: Number(line.product), quantity: line.quantity, index });
  });
  return { ...(typeof data.id === 'string' ? { id: data.id.toLowerCase() } : {}), customer: a.customer, zone: a.shippingZone, lines };
}

/** The monolith's order pages: checkout, order history, cancellation and the shipments of an order. */
export function orderRoutes(db: pg.Pool): Router {
  const router = Router();

  /** A transaction that a dry run (x-cutover-shadow: 1) rolls back instead of committing. */
  async function unitOfWork<T>(req: Request, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await db.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query(isDryRun(req) ? 'ROLLBACK' : 'COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async function orderLines(client: pg.Pool | pg.PoolClient, id: string): Promise<LineRow[]> {
    return (await client.query<LineRow>('SELECT * FROM order_lines WHERE order_id = $1 ORDER BY line_number', [id])).rows;
  }

  async function loadOrder(client: pg.Pool | pg.PoolClient, id: string, lock = ''): Promise<OrderRow | undefined> {
    if (!UUID.test(id)) return undefined;
    return (await client.query<OrderRow>(`SELECT * FROM orders WHERE id = $1 ${lock}`, [id])).rows[0];
  }

  router.post('/orders', async (req: Request, res: Response) => {
    queryOf(req, []);
    const order = validateOrder(body(req));
    const id = order.id ?? randomUUID();
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    try {
      const created = await unitOfWork(req, async (client) => {
        if (order.id && (await loadOrder(client, order.id))) throw invalid(409, 'order_exists', `An order with id ${order.id} already exists.`, '/data/id');
        await client.query(`INSERT INTO orders (id, customer, shipping_zone, status, total_cents, created_at, updated_at) VALUES ($1, $2, $3, 'placed', 0, $4, $4)`,
          [id, order.customer, order.zone, now]);
        const prices = await checkout(client, id, order.lines, order.zone, now);
        let totalCents = 0;
        for (const line of order.lines) {
          const price = prices.get(line.product) ?? 0;
          totalCents += price * line.quantity;
          await client.query('INSERT INTO order_lines (order_id, line_number, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4, $5)',
            [id, line.index + 1, line.product, line.quantity, price]);
        }
        await client.query('UPDATE orders SET total_cents = $2 WHERE id = $1', [id, totalCents]);
        return { order: (await loadOrder(client, id)) as OrderRow, lines: await orderLines(client, id) };
      });
      res.location(`/orders/${id}`);
      send(res, 201, { data: orderDoc(created.order, created.lines), links: { self: `/orders/${id}` } });
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw invalid(409, 'order_exists', `An order with id ${id} already exists.`, '/data/id');
      throw error;
    }
  });

  router.get('/orders', async (req: Request, res: Response) => {
    const customer = queryOf(req, [/^filter\[customer\]$/]).get('filter[customer]');
    if (!customer) throw new ApiError(400, 'missing_filter', 'Orders are listed per customer: give filter[customer].', { parameter: 'filter[customer]' });
    const { rows } = await db.query<OrderRow>('SELECT * FROM orders WHERE customer = $1 ORDER BY created_at', [customer]);
    const data = [];
    for (const row of rows) data.push(orderDoc(row, await orderLines(db, row.id)));
    send(res, 200, { data, links: { self: `/orders?filter[customer]=${encodeURIComponent(customer)}` } });
  });

  router.get('/orders/:id', async (req: Request<{ id: string }>, res: Response) => {
    queryOf(req, []);
    const order = await loadOrder(db, req.params.id);
    if (!order) throw new ApiError(404, 'not_found', `No order with id ${req.params.id}.`);
    send(res, 200, { data: orderDoc(order, await orderLines(db, order.id)), links: { self: `/orders/${order.id}` } });
  });

  router.patch('/orders/:id', async (req: Request<{ id: string }>, res: Response) => {
    queryOf(req, []);
    const id = req.params.id;
    const doc = body(req);
    const data = obj(doc) ? doc.data : undefined;
    if (!obj(data)) throw invalid(400, 'invalid_document', 'The request document needs a data member with a resource object.', '/data');
    if (data.type !== 'orders') throw invalid(409, 'type_mismatch', `This resource is an order, not ${JSON.stringify(data.type)}.`, '/data/type');
    if (data.id !== id) throw invalid(409, 'id_mismatch', `data.id must be the id in the URL, ${id}.`, '/data/id');
    const attributes = obj(data.attributes) ? data.attributes : {};
    for (const name of Object.keys(attributes)) {
      if (name !== 'status') throw invalid(422, 'immutable_attribute', `${name} cannot be changed; an order can only be cancelled.`, `/data/attributes/${name}`);
    }
    if (attributes.status !== 'cancelled') throw invalid(422, 'invalid_status', 'The only change an order accepts is status "cancelled".', '/data/attributes/status');

    const order = await unitOfWork(req, async (client) => {
      const found = await loadOrder(client, id, 'FOR UPDATE');
      if (!found || found.status === 'cancelled') return found;
      const { rows: sent } = await client.query<{ status: string }>(`SELECT status FROM shipments WHERE order_id = $1 AND status IN ('shipped', 'delivered') LIMIT 1`, [id]);
      if (sent[0]) throw invalid(409, 'already_shipped', `Order ${id} has a shipment that is ${sent[0].status}; it can no longer be cancelled.`, '/data/attributes/status');
      await client.query('SELECT id FROM products WHERE id IN (SELECT product_id FROM order_lines WHERE order_id = $1) ORDER BY id FOR UPDATE', [id]);
      const { rows: open } = await client.query<{ center_id: number; product_id: number; quantity: number }>(
        `SELECT s.center_id, l.product_id, l.quantity FROM shipments s JOIN shipment_lines l ON l.shipment_id = s.id WHERE s.order_id = $1 AND s.status IN ('allocated', 'picked')`, [id]);
      for (const line of open) {
        await client.query('UPDATE stock SET quantity = quantity + $3 WHERE product_id = $1 AND center_id = $2', [line.product_id, line.center_id, line.quantity]);
      }
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      await client.query(`UPDATE shipments SET status = 'cancelled', updated_at = $2 WHERE order_id = $1 AND status IN ('allocated', 'picked')`, [id, now]);
      await client.query('DELETE FROM reservations WHERE order_id = $1', [id]);
      await client.query(`UPDATE orders SET status = 'cancelled', updated_at = $2 WHERE id = $1`, [id, now]);
      return loadOrder(client, id);
    });
    if (!order) throw new ApiError(404, 'not_found', `No order with id ${id}.`);
    send(res, 200, { data: orderDoc(order, await orderLines(db, id)), links: { self: `/orders/${id}` } });
  });

  router.get('/orders/:id/shipments', async (req: Request<{ id: string }>, res: Response) => {
    queryOf(req, []);
    const order = await loadOrder(db, req.params.id);
    if (!order) throw new ApiError(404, 'not_found', `No order with id ${req.params.id}.`);
    const { rows: shipments } = await db.query<{ id: string; code: string; status: string; created_at: Date; updated_at: Date }>(
      'SELECT s.*, c.code FROM shipments s JOIN fulfillment_centers c ON c.id = s.center_id WHERE s.order_id = $1 ORDER BY s.created_at', [order.id]);
    const data = [];
    for (const shipment of shipments) {
      const { rows: lines } = await db.query<{ product_id: number; quantity: number }>('SELECT * FROM shipment_lines WHERE shipment_id = $1 ORDER BY product_id', [shipment.id]);
      data.push({
        type: 'shipments', id: shipment.id,
        attributes: {
          status: shipment.status, fulfillmentCenter: shipment.code, lines: lines.map((line) => ({ product: String(line.product_id), quantity: line.quantity })),
          createdAt: shipment.created_at.toISOString(), updatedAt: shipment.updated_at.toISOString(),
        },
        relationships: { order: { data: { type: 'orders', id: order.id } } },
      });
    }
    send(res, 200, { data, links: { self: `/orders/${order.id}/shipments` } });
  });

  return router;
}
