import type pg from 'pg';
import { inclusions, paginationLinks, type Resource, sparseFieldsets, withFields } from '../common/documents.js';
import { answer, document, negotiate, notFound, problem } from '../common/jsonapi.js';
import type { HttpEvent, HttpHandler, HttpResult } from '../common/lambda.js';
import { Query } from '../common/query.js';
import { CATEGORY_FIELDS, categoryResource, type CategoryRow, PRODUCT_FIELDS, PRODUCT_SELECT, productResource, type ProductRow } from './resources.js';

const FIELDSETS = { products: PRODUCT_FIELDS, categories: CATEGORY_FIELDS };
const SORTABLE: Record<string, string> = { name: 'p.name', price: 'p.price_cents', createdAt: 'p.created_at', sku: 'p.sku' };
const PAGE_SIZE = { default: 10, max: 100 };

/** sort=-price,name as SQL; the id breaks ties so that pages never overlap. */
function orderBy(query: Query): string {
  const keys = (query.list('sort') ?? []).map((key) => {
    const descending = key.startsWith('-');
    const column = SORTABLE[descending ? key.slice(1) : key];
    if (!column) throw problem(400, 'unknown_sort', `sort: products cannot be sorted by ${key} (only ${Object.keys(SORTABLE).join(', ')}).`, '?sort');
    return `${column} ${descending ? 'DESC' : 'ASC'}`;
  });
  return [...keys, 'p.id ASC'].join(', ');
}

async function categoriesOf(db: pg.Pool, rows: ProductRow[]): Promise<CategoryRow[]> {
  const ids = [...new Set(rows.map((row) => row.category_id))];
  const { rows: categories } = await db.query<CategoryRow>('SELECT * FROM categories WHERE id = ANY($1) ORDER BY id', [ids]);
  return categories;
}

async function compound(db: pg.Pool, rows: ProductRow[], query: Query): Promise<{ data: Resource[]; included?: Resource[] }> {
  const fieldsets = sparseFieldsets(query, FIELDSETS);
  const include = inclusions(query, ['category']);
  const data = rows.map((row) => withFields(productResource(row), fieldsets));
  if (!include.has('category')) return { data };
  return { data, included: (await categoriesOf(db, rows)).map((row) => withFields(categoryResource(row), fieldsets)) };
}

/** The catalog bounded context as one Lambda function behind an HTTP API. */
export function createCatalogHandler(db: pg.Pool): HttpHandler {
  const routes: Record<string, (event: HttpEvent) => Promise<HttpResult>> = {
    'GET /products': async (event) => {
      const query = new Query(event.rawQueryString, [/^page\[(number|size)\]$/, /^filter\[category\]$/, /^sort$/, /^include$/, /^fields\[[^\]]+\]$/]);
      const size = query.positiveInteger('page[size]', PAGE_SIZE.default, PAGE_SIZE.max);
      const number = query.positiveInteger('page[number]', 1, 1_000_000);
      const category = query.get('filter[category]');
      const { rows } = await db.query<ProductRow & { total: string }>(
        `SELECT *, count(*) OVER () AS total FROM (${PRODUCT_SELECT}
           WHERE $1::text IS NULL OR p.category_id = (SELECT id FROM categories WHERE slug = $1)) p
         ORDER BY ${orderBy(query)} LIMIT $2 OFFSET $3`,
        [category ?? null, size, (number - 1) * size]);
      const total = rows[0] ? Number(rows[0].total) : await countProducts(db, category);
      const { data, included } = await compound(db, rows, query);
      return document(200, { data, ...(included ? { included } : {}), links: paginationLinks('/products', event.rawQueryString, { number, size, total }) });
    },
    'GET /products/{id}': async (event) => {
      const query = new Query(event.rawQueryString, [/^include$/, /^fields\[[^\]]+\]$/]);
      const id = event.pathParameters?.id ?? '';
      const { rows } = /^\d{1,9}$/.test(id) ? await db.query<ProductRow>(`${PRODUCT_SELECT} WHERE p.id = $1`, [Number(id)]) : { rows: [] };
      if (!rows[0]) return notFound(`No product with id ${id}.`);
      const { data, included } = await compound(db, rows, query);
      return document(200, { data: data[0], ...(included ? { included } : {}), links: { self: `/products/${id}` } });
    },
    'GET /categories': async (event) => {
      const query = new Query(event.rawQueryString, [/^fields\[[^\]]+\]$/]);
      const fieldsets = sparseFieldsets(query, FIELDSETS);
      const { rows } = await db.query<CategoryRow>('SELECT * FROM categories ORDER BY name, id');
      return document(200, { data: rows.map((row) => withFields(categoryResource(row), fieldsets)), links: { self: '/categories' } });
    },
    // Every category's links.self points here.
    'GET /categories/{id}': async (event) => {
      const fieldsets = sparseFieldsets(new Query(event.rawQueryString, [/^fields\[[^\]]+\]$/]), FIELDSETS);
      const id = event.pathParameters?.id ?? '';
      const { rows } = /^\d{1,9}$/.test(id) ? await db.query<CategoryRow>('SELECT * FROM categories WHERE id = $1', [Number(id)]) : { rows: [] };
      if (!rows[0]) return notFound(`No category with id ${id}.`);
      return document(200, { data: withFields(categoryResource(rows[0]), fieldsets), links: { self: `/categories/${id}` } });
    },
  };
  return async (event) => answer(async () => {
    const route = routes[event.routeKey];
    if (!route) return notFound(`The catalog does not serve ${event.routeKey}.`);
    negotiate(event);
    return route(event);
  });
}

/** A page past the end has no rows to carry the window count, so the total is counted apart. */
async function countProducts(db: pg.Pool, category: string | undefined): Promise<number> {
  const { rows } = await db.query<{ count: string }>(
    'SELECT count(*) FROM products p WHERE $1::text IS NULL OR p.category_id = (SELECT id FROM categories WHERE slug = $1)', [category ?? null]);
  return Number(rows[0]?.count ?? 0);
}
