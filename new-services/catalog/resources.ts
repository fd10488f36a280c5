import type { Resource } from '../common/documents.js';
import { dollars, instant } from '../common/representation.js';

export interface ProductRow {
  id: number; sku: string; name: string; description: string; category_id: number;
  price_cents: number; created_at: Date; updated_at: Date; in_stock: string;
}

export interface CategoryRow { id: number; slug: string; name: string; description: string }

export const PRODUCT_FIELDS = ['sku', 'name', 'description', 'price', 'currency', 'inStock', 'createdAt', 'updatedAt', 'category'] as const;
export const CATEGORY_FIELDS = ['slug', 'name', 'description'] as const;

/** inStock is what can still be sold: stock on hand less the reservations of open orders. */
export const PRODUCT_SELECT = `
  SELECT p.*,
         coalesce((SELECT sum(quantity) FROM stock s WHERE s.product_id = p.id), 0)
       - coalesce((SELECT sum(quantity) FROM reservations r WHERE r.product_id = p.id), 0) AS in_stock
  FROM products p`;

export function productResource(row: ProductRow): Resource {
  return {
    type: 'products',
    id: String(row.id),
    attributes: {
      sku: row.sku,
      name: row.name,
      description: row.description,
      price: dollars(row.price_cents),
      currency: 'USD',
      inStock: Number(row.in_stock),
      createdAt: instant(row.created_at),
      updatedAt: instant(row.updated_at),
    },
    relationships: { category: { data: { type: 'categories', id: String(row.category_id) } } },
    links: { self: `/products/${row.id}` },
  };
}

export function categoryResource(row: CategoryRow): Resource {
  return {
    type: 'categories',
    id: String(row.id),
    attributes: { slug: row.slug, name: row.name, description: row.description },
    links: { self: `/categories/${row.id}` },
  };
}
