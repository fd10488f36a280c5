import type { Resource } from '../common/documents.js';
import { dollars, instant } from '../common/representation.js';

export interface OrderRow {
  id: string; customer: string; shipping_zone: string; status: string; total_cents: number; created_at: Date; updated_at: Date;
}
export interface OrderLineRow { order_id: string; line_number: number; product_id: number; quantity: number; unit_price_cents: number }
export interface ShipmentRow { id: string; order_id: string; center_code: string; status: string; created_at: Date; updated_at: Date }
export interface ShipmentLineRow { shipment_id: string; product_id: number; quantity: number }

/** Line items are attributes, not resources: they have no identity outside their order. */
export function orderResource(order: OrderRow, lines: OrderLineRow[]): Resource {
  return {
    type: 'orders',
    id: order.id,
    attributes: {
      customer: order.customer,
      status: order.status,
      shippingZone: order.shipping_zone,
      lines: lines.map((line) => ({
        product: String(line.product_id),
        quantity: line.quantity,
        unitPrice: dollars(line.unit_price_cents),
        lineTotal: dollars(line.unit_price_cents * line.quantity),
      })),
      total: dollars(order.total_cents),
      currency: 'USD',
      createdAt: instant(order.created_at),
      updatedAt: instant(order.updated_at),
    },
    relationships: { shipments: { links: { related: `/orders/${order.id}/shipments` } } },
    links: { self: `/orders/${order.id}` },
  };
}

export function shipmentResource(shipment: ShipmentRow, lines: ShipmentLineRow[]): Omit<Resource, 'links'> {
  return {
    type: 'shipments',
    id: shipment.id,
    attributes: {
      status: shipment.status,
      fulfillmentCenter: shipment.center_code,
      lines: lines.map((line) => ({ product: String(line.product_id), quantity: line.quantity })),
      createdAt: instant(shipment.created_at),
      updatedAt: instant(shipment.updated_at),
    },
    relationships: { order: { data: { type: 'orders', id: shipment.order_id } } },
  };
}
