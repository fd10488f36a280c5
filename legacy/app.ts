import express, { type Request, type Response } from 'express';
import type pg from 'pg';

const JSON_API = 'application/vnd.api+json';

interface ProductRow {
  id: number; sku: string; name: string; description: string; category_id: number;
  price_cents: number; created_at: Date; updated_at: Date; in_stock: string;
}

/** The monolith's product document: prices in floating-point dollars, timestamps with milliseconds. */
function productResource(row: ProductRow) {
  return {
    type: 'products',
    id: String(row.id),
    attributes: {
      sku: row.sku,
      name: row.name,
      description: row.description,
      price: row.price_cents / 100,
      currency: 'USD',
      inStock: Number(row.in_stock),
      createdAt: row.created_at.toISOString(),
      updatedAt: row.updated_at.toISOString(),
    },
    relationships: { category: { data: { type: 'categories', id: String(row.category_id) } } },
    links: { self: `/products/${row.id}` },
  };
}

const PRODUCT_SELECT = `
  SELECT p.*, coalesce((SELECT sum(quantity) FROM stock s WHERE s.product_id = p.id), 0) AS in_stock
  FROM products p`;

function send(res: Response, status: number, document: object): void {
  res.status(status).type(JSON_API).send(JSON.stringify({ ...document, meta: { generatedAt: new Date().toISOString() } }));
}

function notFound(res: Response, detail: string): void {
  send(res, 404, { errors: [{ status: '404', code: 'not_found', title: 'Not Found', detail }] });
}

/** The legacy pet-store monolith, reduced to the endpoints being migrated. */
export function createLegacyApp(db: pg.Pool): express.Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/products', async (_req: Request, res: Response) => {
    const { rows } = await db.query<ProductRow>(`${PRODUCT_SELECT} ORDER BY p.id`);
    send(res, 200, { data: rows.map(productResource), links: { self: '/products' } });
  });

  app.get('/products/:id', async (req: Request<{ id: string }>, res: Response) => {
    const id = Number(req.params.id);
    const { rows } = Number.isInteger(id) ? await db.query<ProductRow>(`${PRODUCT_SELECT} WHERE p.id = $1`, [id]) : { rows: [] };
    const row = rows[0];
    if (!row) return notFound(res, `No product with id ${req.params.id}.`);
    send(res, 200, { data: productResource(row), links: { self: `/products/${row.id}` } });
  });

  app.get('/categories', async (_req: Request, res: Response) => {
    const { rows } = await db.query<{ id: number; slug: string; name: string; description: string }>('SELECT * FROM categories ORDER BY id');
    send(res, 200, {
      data: rows.map((row) => ({
        type: 'categories', id: String(row.id),
        attributes: { slug: row.slug, name: row.name, description: row.description },
        links: { self: `/categories/${row.id}` },
      })),
      links: { self: '/categories' },
    });
  });

  app.use((req: Request, res: Response) => notFound(res, `No route for ${req.method} ${req.path}.`));
  return app;
}
