import type pg from 'pg';

/**
 * The monolith's tables. In the shared-database phase of the migration the new services read
 * and write these same tables, so the legacy side owns their shape.
 */
const TABLES = `
CREATE TABLE IF NOT EXISTS categories (
  id          integer PRIMARY KEY,
  slug        text NOT NULL UNIQUE,
  name        text NOT NULL,
  description text NOT NULL
);
CREATE TABLE IF NOT EXISTS products (
  id          integer PRIMARY KEY,
  sku         text NOT NULL UNIQUE,
  name        text NOT NULL,
  description text NOT NULL,
  category_id integer NOT NULL REFERENCES categories(id),
  price_cents integer NOT NULL CHECK (price_cents >= 0),
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS fulfillment_centers (
  id             integer PRIMARY KEY,
  code           text NOT NULL UNIQUE,
  name           text NOT NULL,
  shipping_zones text[] NOT NULL
);
CREATE TABLE IF NOT EXISTS stock (
  product_id integer NOT NULL REFERENCES products(id),
  center_id  integer NOT NULL REFERENCES fulfillment_centers(id),
  quantity   integer NOT NULL CHECK (quantity >= 0),
  PRIMARY KEY (product_id, center_id)
);
`;

export async function createSchema(db: pg.Pool): Promise<void> {
  await db.query(TABLES);
}
