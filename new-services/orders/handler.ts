import type pg from 'pg';
import type { FulfillmentQueue } from '../fulfillment/messages.js';
import { answer, document, isShadow, negotiate, notFound, problem, requestDocument } from '../common/jsonapi.js';
import type { HttpEvent, HttpHandler, HttpResult } from '../common/lambda.js';
import { noParameters, Query } from '../common/query.js';
import { cancelOrder } from './cancel-order.js';
import { readCancellation, readOrderRequest } from './order-request.js';
import { findOrder, linesOf, shipmentsOf } from './order-store.js';
import { placeOrder } from './place-order.js';
import { orderResource, type OrderRow, shipmentResource } from './resources.js';

export interface OrdersOptions {
  queue: FulfillmentQueue;
  log?: (line: string) => void;
}

/** The orders bounded context as one Lambda function: placing, reading and cancelling orders. */
export function createOrdersHandler(db: pg.Pool, options: OrdersOptions): HttpHandler {
  const log = options.log ?? ((line: string) => console.error(line));

  const single = async (order: OrderRow): Promise<HttpResult> => {
    const lines = (await linesOf(db, [order.id])).get(order.id) ?? [];
    return document(200, { data: orderResource(order, lines), links: { self: `/orders/${order.id}` } });
  };

  const routes: Record<string, (event: HttpEvent) => Promise<HttpResult>> = {
    'POST /orders': async (event) => {
      noParameters(event.rawQueryString);
      const request = readOrderRequest(requestDocument(event));
      const shadow = isShadow(event);
      const { order, lines } = await placeOrder(db, request, !shadow);
      if (!shadow) {
        // After the commit, so fulfillment never sees an order that is not there. A failed send
        // leaves the order placed but unallocated: it is logged, and the order keeps its stock reserved.
        await options.queue.send({ type: 'order-placed', orderId: order.id })
          .catch((error: unknown) => log(`orders: order ${order.id} placed, but fulfillment was not told: ${(error as Error).message}`));
      }
      return document(201, { data: orderResource(order, lines), links: { self: `/orders/${order.id}` } }, { location: `/orders/${order.id}` });
    },
    'GET /orders': async (event) => {
      const query = new Query(event.rawQueryString, [/^filter\[customer\]$/]);
      const customer = query.get('filter[customer]');
      if (!customer) throw problem(400, 'missing_filter', 'Orders are listed per customer: give filter[customer].', '?filter[customer]');
      const { rows: orders } = await db.query<OrderRow>('SELECT * FROM orders WHERE customer = $1 ORDER BY created_at DESC, id', [customer]);
      const lines = await linesOf(db, orders.map((order) => order.id));
      const self = `/orders?filter[customer]=${encodeURIComponent(customer)}`;
      return document(200, { data: orders.map((order) => orderResource(order, lines.get(order.id) ?? [])), links: { self } });
    },
    'GET /orders/{id}': async (event) => {
      noParameters(event.rawQueryString);
      const id = event.pathParameters?.id ?? '';
      const order = await findOrder(db, id);
      return order ? single(order) : notFound(`No order with id ${id}.`);
    },
    'PATCH /orders/{id}': async (event) => {
      noParameters(event.rawQueryString);
      const id = event.pathParameters?.id ?? '';
      readCancellation(requestDocument(event), id);
      const order = await cancelOrder(db, id, !isShadow(event));
      return order ? single(order) : notFound(`No order with id ${id}.`);
    },
    'GET /orders/{id}/shipments': async (event) => {
      noParameters(event.rawQueryString);
      const id = event.pathParameters?.id ?? '';
      if (!(await findOrder(db, id))) return notFound(`No order with id ${id}.`);
      const shipments = await shipmentsOf(db, id);
      return document(200, { data: shipments.map(({ shipment, lines }) => shipmentResource(shipment, lines)), links: { self: `/orders/${id}/shipments` } });
    },
  };

  return async (event) => answer(async () => {
    const route = routes[event.routeKey];
    if (!route) return notFound(`The orders service does not serve ${event.routeKey}.`);
    negotiate(event);
    return route(event);
  });
}
