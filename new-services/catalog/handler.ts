import type pg from 'pg';
import { document, notFound } from '../shared/jsonapi.js';
import type { HttpEvent, HttpHandler, HttpResult } from '../shared/lambda.js';

interface ProductRow {
  id: number; sku: string; name: string; description: string; category_id: number;
  price_cents: number; created_at: Date; updated_at: Date; in_stock: string;
}

/** RFC 3339 to the second: the new services do not promise sub-second timestamps. */
function instant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function productResource(row: ProductRow) {
  return {
    type: 'products',
    id: String(row.id),
    attributes: {
      sku: row.sku,
      name: row.name,
      description: row.description,
      price: Math.round(row.price_cents) / 100,
      currency: 'USD',
      inStock: Number(row.in_stock),
      createdAt: instant(row.created_at),
      updatedAt: instant(row.updated_at),
    },
    relationships: { category: { data: { type: 'categories', id: String(row.category_id) } } },
    links: { self: `/products/${row.id}` },
  };
}

const PRODUCT_SELECT = `
  SELECT p.*, coalesce((SELECT sum(quantity) FROM stock s WHERE s.product_id = p.id), 0) AS in_stock
  FROM products p`;

/** The catalog bounded context as one Lambda function behind an HTTP API. */
export function createCatalogHandler(db: pg.Pool): HttpHandler {
  const routes: Record<string, (event: HttpEvent) => Promise<HttpResult>> = {
    'GET /products': async () => {
      const { rows } = await db.query<ProductRow>(`${PRODUCT_SELECT} ORDER BY p.name`);
      return document(200, { data: rows.map(productResource), links: { self: '/products' } });
    },
    'GET /products/{id}': async (event) => {
      const id = event.pathParameters?.id ?? '';
      const { rows } = /^\d+$/.test(id) ? await db.query<ProductRow>(`${PRODUCT_SELECT} WHERE p.id = $1`, [Number(id)]) : { rows: [] };
      const row = rows[0];
      if (!row) return notFound(`No product with id ${id}.`);
      return document(200, { data: productResource(row), links: { self: `/products/${row.id}` } });
    },
    'GET /categories': async () => {
      const { rows } = await db.query<{ id: number; slug: string; name: string; description: string }>('SELECT * FROM categories ORDER BY name');
      return document(200, {
        data: rows.map((row) => ({
          type: 'categories', id: String(row.id),
          attributes: { slug: row.slug, name: row.name, description: row.description },
          links: { self: `/categories/${row.id}` },
        })),
        links: { self: '/categories' },
      });
    },
  };
  return async (event) => {
    const route = routes[event.routeKey];
    return route ? route(event) : notFound(`The catalog does not serve ${event.routeKey}.`);
  };
}
