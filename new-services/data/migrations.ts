/**
 * The pet-store database schema as versioned migrations, applied in order and recorded in
 * schema_migrations.
 *
 * Ownership: in the shared-database phase of the migration the legacy monolith and the new
 * services read and write the same tables. The schema is changed in one place only, here, so
 * that the two sides cannot drift; version 1 is the monolith's schema exactly as it was. The
 * legacy stand-in does not create tables (it would need to import this module, and legacy/ and
 * new-services/ never import each other): whoever starts it (the demo stack, the tests, a
 * deployment pipeline through `npm run db:migrate`) migrates the database first.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'monolith catalog and stock',
    // IF NOT EXISTS: the baseline adopts a monolith database that already has these tables.
    sql: `
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
);`,
  },
  {
    version: 2,
    name: 'orders and stock reservations',
    // Reservations hold stock for an order until fulfillment allocates it to a center: what a
    // product can still sell is its stock on hand minus its open reservations.
    sql: `
CREATE TABLE orders (
  id            uuid PRIMARY KEY,
  customer      text NOT NULL,
  shipping_zone text NOT NULL,
  status        text NOT NULL CHECK (status IN ('placed', 'cancelled')),
  total_cents   integer NOT NULL CHECK (total_cents >= 0),
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX orders_customer ON orders (customer, created_at);
CREATE TABLE order_lines (
  order_id         uuid NOT NULL REFERENCES orders(id),
  line_number      integer NOT NULL,
  product_id       integer NOT NULL REFERENCES products(id),
  quantity         integer NOT NULL CHECK (quantity > 0),
  unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
  PRIMARY KEY (order_id, line_number)
);
CREATE TABLE reservations (
  order_id   uuid NOT NULL REFERENCES orders(id),
  product_id integer NOT NULL REFERENCES products(id),
  quantity   integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, product_id)
);
CREATE INDEX reservations_product ON reservations (product_id);`,
  },
  {
    version: 3,
    name: 'shipments',
    sql: `
CREATE TABLE shipments (
  id         uuid PRIMARY KEY,
  order_id   uuid NOT NULL REFERENCES orders(id),
  center_id  integer NOT NULL REFERENCES fulfillment_centers(id),
  status     text NOT NULL CHECK (status IN ('allocated', 'picked', 'shipped', 'delivered', 'cancelled')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (order_id, center_id)
);
CREATE TABLE shipment_lines (
  shipment_id uuid NOT NULL REFERENCES shipments(id),
  product_id  integer NOT NULL REFERENCES products(id),
  quantity    integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (shipment_id, product_id)
);`,
  },
];
