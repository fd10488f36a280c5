import { problem } from '../common/jsonapi.js';

export interface RequestedLine { product: number; quantity: number; pointer: string }

/** A POST /orders document, checked for shape; whether products and zones exist is the database's to say. */
export interface OrderRequest {
  id?: string;
  customer: string;
  shippingZone: string;
  lines: RequestedLine[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_LINES = 50;
const MAX_QUANTITY = 1000;
const ATTRIBUTES = ['customer', 'shippingZone', 'lines'];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function line(value: unknown, index: number, seen: Set<number>): RequestedLine {
  const at = `/data/attributes/lines/${index}`;
  if (!isObject(value)) throw problem(422, 'invalid_line', 'A line is an object with product and quantity.', at);
  const unknown = Object.keys(value).find((name) => name !== 'product' && name !== 'quantity');
  if (unknown !== undefined) throw problem(422, 'unknown_attribute', `A line has no member ${unknown}.`, `${at}/${unknown}`);
  const { product, quantity } = value;
  if (typeof product !== 'string' || !/^\d{1,9}$/.test(product)) throw problem(422, 'invalid_product', 'product is the id of a product, as a string.', `${at}/product`);
  if (seen.has(Number(product))) throw problem(422, 'duplicate_product', `Product ${product} is on more than one line; order it on one line.`, `${at}/product`);
  seen.add(Number(product));
  if (typeof quantity !== 'number' || !Number.isInteger(quantity)) throw problem(422, 'invalid_quantity', 'quantity is a whole number.', `${at}/quantity`);
  if (quantity < 1) throw problem(422, 'invalid_quantity', `quantity must be at least 1 (got ${quantity}).`, `${at}/quantity`);
  if (quantity > MAX_QUANTITY) throw problem(422, 'invalid_quantity', `quantity must be at most ${MAX_QUANTITY} (got ${quantity}).`, `${at}/quantity`);
  return { product: Number(product), quantity, pointer: at };
}

/** Reads the request document of POST /orders, or throws the one error that names what is wrong. */
export function readOrderRequest(body: unknown): OrderRequest {
  if (!isObject(body) || !('data' in body)) throw problem(400, 'invalid_document', 'The request document needs a top-level data member.', '');
  const { data } = body;
  if (!isObject(data)) throw problem(400, 'invalid_document', 'data is a resource object.', '/data');
  if (data.type !== 'orders') throw problem(409, 'type_mismatch', `This collection holds orders, not ${JSON.stringify(data.type)}.`, '/data/type');
  if (data.id !== undefined && (typeof data.id !== 'string' || !UUID.test(data.id))) {
    throw problem(422, 'invalid_id', 'A client-generated order id is a UUID.', '/data/id');
  }
  const { attributes } = data;
  if (!isObject(attributes)) throw problem(422, 'missing_attributes', 'An order needs attributes: customer, shippingZone and lines.', '/data/attributes');
  const unknown = Object.keys(attributes).find((name) => !ATTRIBUTES.includes(name));
  if (unknown !== undefined) throw problem(422, 'unknown_attribute', `An order has no attribute ${unknown}.`, `/data/attributes/${unknown}`);
  const { customer, shippingZone, lines } = attributes;
  if (typeof customer !== 'string' || customer.trim() === '' || customer.length > 100) {
    throw problem(422, 'invalid_customer', 'customer is a non-empty string of at most 100 characters.', '/data/attributes/customer');
  }
  if (typeof shippingZone !== 'string' || shippingZone === '') throw problem(422, 'invalid_shipping_zone', 'shippingZone names a shipping zone.', '/data/attributes/shippingZone');
  if (!Array.isArray(lines) || lines.length === 0) throw problem(422, 'invalid_lines', 'lines is a non-empty list of {product, quantity}.', '/data/attributes/lines');
  if (lines.length > MAX_LINES) throw problem(422, 'invalid_lines', `An order has at most ${MAX_LINES} lines.`, '/data/attributes/lines');
  const seen = new Set<number>();
  return {
    ...(typeof data.id === 'string' ? { id: data.id.toLowerCase() } : {}),
    customer,
    shippingZone,
    lines: lines.map((value, index) => line(value, index, seen)),
  };
}

/** PATCH /orders/{id}: the only change an order accepts is {"status": "cancelled"}. */
export function readCancellation(body: unknown, id: string): void {
  if (!isObject(body) || !isObject(body.data)) throw problem(400, 'invalid_document', 'The request document needs a data member with a resource object.', '/data');
  const { data } = body;
  if (data.type !== 'orders') throw problem(409, 'type_mismatch', `This resource is an order, not ${JSON.stringify(data.type)}.`, '/data/type');
  if (data.id !== id) throw problem(409, 'id_mismatch', `data.id must be the id in the URL, ${id}.`, '/data/id');
  const attributes = isObject(data.attributes) ? data.attributes : {};
  const unknown = Object.keys(attributes).find((name) => name !== 'status');
  if (unknown !== undefined) throw problem(422, 'immutable_attribute', `${unknown} cannot be changed; an order can only be cancelled.`, `/data/attributes/${unknown}`);
  if (attributes.status !== 'cancelled') throw problem(422, 'invalid_status', 'The only change an order accepts is status "cancelled".', '/data/attributes/status');
}
