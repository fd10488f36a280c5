import { type Request, type Response, Router } from 'express';
import type pg from 'pg';
import { ApiError, queryOf, rawQuery, send } from './jsonapi.js';

interface ProductRow {
  id: number; sku: string; name: string; description: string; category_id: number;
  price_cents: number; created_at: Date; updated_at: Date; in_stock: string;
}
interface CategoryRow { id: number; slug: string; name: string; description: string }
type Doc = { type: string; id: string; attributes: Record<string, unknown>; relationships?: Record<string, unknown>; links: { self: string } };

const PRODUCT_FIELDS = ['sku', 'name', 'description', 'price', 'currency', 'inStock', 'createdAt', 'updatedAt', 'category'];
const CATEGORY_FIELDS = ['slug', 'name', 'description'];
const SORT_COLUMNS: Record<string, string> = { name: 'p.name', price: 'p.price_cents', createdAt: 'p.created_at', sku: 'p.sku' };

const PRODUCT_SELECT = `
  SELECT p.*,
         coalesce((SELECT sum(quantity) FROM stock s WHERE s.product_id = p.id), 0)
       - coalesce((SELECT sum(quantity) FROM reservations r WHERE r.product_id = p.id), 0) AS in_stock
  FROM products p`;

/** The monolith's product document: prices in floating-point dollars, timestamps with milliseconds. */
function productDoc(row: ProductRow): Doc {
  return {
    type: 'products',
    id: String(row.id),
    attributes: {
      sku: row.sku, name: row.name, description: row.description, price: row.price_cents / 100, currency: 'USD',
      inStock: Number(row.in_stock), createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString(),
    },
    relationships: { category: { data: { type: 'categories', id: String(row.category_id) } } },
    links: { self: `/products/${row.id}` },
  };
}

function categoryDoc(row: CategoryRow): Doc {
  return { type: 'categories', id: String(row.id), attributes: { slug: row.slug, name: row.name, description: row.description }, links: { self: `/categories/${row.id}` } };
}

function fieldsets(params: Map<string, string>): Map<string, string[]> {
  const known: Record<string, string[]> = { products: PRODUCT_FIELDS, categories: CATEGORY_FIELDS };
  const result = new Map<string, string[]>();
  for (const [name, value] of params) {
    const type = /^fields\[(.+)\]$/.exec(name)?.[1];
    if (type === undefined) continue;
    if (!known[type]) throw new ApiError(400, 'unknown_type', `fields[${type}]: there is no resource type ${type} here.`, { parameter: name });
    const fields = value === '' ? [] : value.split(',');
    for (const field of fields) {
      if (!known[type]?.includes(field)) throw new ApiError(400, 'unknown_field', `fields[${type}]: ${type} have no field ${field}.`, { parameter: name });
    }
    result.set(type, fields);
  }
  return result;
}

function sparse(doc: Doc, fields: Map<string, string[]>): Doc {
  const wanted = fields.get(doc.type);
  if (!wanted) return doc;
  const out: Doc = { type: doc.type, id: doc.id, attributes: {}, links: doc.links };
  for (const name of wanted) if (name in doc.attributes) out.attributes[name] = doc.attributes[name];
  for (const name of wanted) if (doc.relationships && name in doc.relationships) out.relationships = { ...out.relationships, [name]: doc.relationships[name] };
  return out;
}

function wantsCategory(params: Map<string, string>): boolean {
  // An empty include= asks for nothing, as an absent one does.
  const paths = (params.get('include') ?? '').split(',').map((path) => path.trim()).filter((path) => path !== '');
  if (paths.length === 0) return false;
  for (const path of paths) {
    if (path !== 'category') throw new ApiError(400, 'unknown_include', `include: the relationship path ${path.trim()} cannot be included here (only category).`, { parameter: 'include' });
  }
  return true;
}

function pageParam(params: Map<string, string>, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new ApiError(400, 'invalid_parameter', `${name} must be an integer from 1 to ${max} (got "${raw}").`, { parameter: name });
  return Number(raw);
}

function link(path: string, query: URLSearchParams): string {
  const parts: string[] = [];
  query.forEach((value, name) => parts.push(`${encodeURIComponent(name).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${encodeURIComponent(value).replace(/%2C/g, ',')}`));
  return parts.length ? `${path}?${parts.join('&')}` : path;
}

/** The monolith's catalog pages. Included categories come in the order the products name them. */
export function catalogRoutes(db: pg.Pool): Router {
  const router = Router();

  async function withIncluded(rows: ProductRow[], params: Map<string, string>): Promise<Doc[] | undefined> {
    if (!wantsCategory(params)) return undefined;
    const fields = fieldsets(params);
    const included: Doc[] = [];
    for (const row of rows) {
      if (included.some((doc) => doc.id === String(row.category_id))) continue;
      const { rows: categories } = await db.query<CategoryRow>('SELECT * FROM categories WHERE id = $1', [row.category_id]);
      if (categories[0]) included.push(sparse(categoryDoc(categories[0]), fields));
    }
    return included;
  }

  router.get('/products', async (req: Request, res: Response) => {
    const params = queryOf(req, [/^page\[(number|size)\]$/, /^filter\[category\]$/, /^sort$/, /^include$/, /^fields\[[^\]]+\]$/]);
    const size = pageParam(params, 'page[size]', 10, 100);
    const number = pageParam(params, 'page[number]', 1, 1_000_000);
    let order = '';
    for (const key of (params.get('sort') ?? '').split(',').filter((key) => key !== '')) {
      const column = SORT_COLUMNS[key.replace(/^-/, '')];
      if (!column) throw new ApiError(400, 'unknown_sort', `sort: products cannot be sorted by ${key} (only ${Object.keys(SORT_COLUMNS).join(', ')}).`, { parameter: 'sort' });
      order += `${column} ${key.startsWith('-') ? 'DESC' : 'ASC'}, `;
    }
    const category = params.get('filter[category]');
    const where = category === undefined ? '' : ' WHERE p.category_id = (SELECT id FROM categories WHERE slug = $1)';
    const args = category === undefined ? [] : [category];
    const { rows: counted } = await db.query<{ count: string }>(`SELECT count(*) FROM products p${where}`, args);
    const total = Number(counted[0]?.count ?? 0);
    const { rows } = await db.query<ProductRow>(`${PRODUCT_SELECT}${where} ORDER BY ${order}p.id LIMIT ${size} OFFSET ${(number - 1) * size}`, args);
    const fields = fieldsets(params);
    const included = await withIncluded(rows, params);

    const last = Math.max(1, Math.ceil(total / size));
    const pageLink = (n: number) => {
      const query = new URLSearchParams(rawQuery(req));
      query.set('page[number]', String(n));
      query.set('page[size]', String(size));
      return link('/products', query);
    };
    send(res, 200, {
      data: rows.map((row) => sparse(productDoc(row), fields)),
      ...(included ? { included } : {}),
      links: {
        self: link('/products', new URLSearchParams(rawQuery(req))), first: pageLink(1), last: pageLink(last),
        prev: number > 1 ? pageLink(Math.min(number - 1, last)) : null, next: number < last ? pageLink(number + 1) : null,
      },
    });
  });

  router.get('/products/:id', async (req: Request<{ id: string }>, res: Response) => {
    const params = queryOf(req, [/^include$/, /^fields\[[^\]]+\]$/]);
    const fields = fieldsets(params);
    const { rows } = /^\d{1,9}$/.test(req.params.id) ? await db.query<ProductRow>(`${PRODUCT_SELECT} WHERE p.id = $1`, [Number(req.params.id)]) : { rows: [] };
    if (!rows[0]) throw new ApiError(404, 'not_found', `No product with id ${req.params.id}.`);
    const included = await withIncluded(rows, params);
    send(res, 200, { data: sparse(productDoc(rows[0]), fields), ...(included ? { included } : {}), links: { self: `/products/${req.params.id}` } });
  });

  router.get('/categories', async (req: Request, res: Response) => {
    const fields = fieldsets(queryOf(req, [/^fields\[[^\]]+\]$/]));
    const { rows } = await db.query<CategoryRow>('SELECT * FROM categories ORDER BY id');
    send(res, 200, { data: rows.map((row) => sparse(categoryDoc(row), fields)), links: { self: '/categories' } });
  });

  // Every category's links.self points here.
  router.get('/categories/:id', async (req: Request<{ id: string }>, res: Response) => {
    const fields = fieldsets(queryOf(req, [/^fields\[[^\]]+\]$/]));
    const { rows } = /^\d{1,9}$/.test(req.params.id) ? await db.query<CategoryRow>('SELECT * FROM categories WHERE id = $1', [Number(req.params.id)]) : { rows: [] };
    if (!rows[0]) throw new ApiError(404, 'not_found', `No category with id ${req.params.id}.`);
    send(res, 200, { data: sparse(categoryDoc(rows[0]), fields), links: { self: `/categories/${req.params.id}` } });
  });

  return router;
}
