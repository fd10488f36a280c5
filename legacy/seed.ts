import type pg from 'pg';

interface SeedCategory { slug: string; name: string; description: string; products: Array<[name: string, priceCents: number]> }

const CATEGORIES: SeedCategory[] = [
  { slug: 'dog-food', name: 'Dog Food', description: 'Dry, wet and raw food for dogs of every size.', products: [
    ['Grain-Free Salmon Kibble 12 kg', 5499], ['Puppy Chicken & Rice 3 kg', 1899], ['Senior Lamb Stew Cans (12 x 400 g)', 2799],
    ['Freeze-Dried Beef Bites 500 g', 2450], ['Large Breed Turkey Formula 15 kg', 6299], ['Sensitive Stomach Duck 6 kg', 3999] ] },
  { slug: 'cat-food', name: 'Cat Food', description: 'Complete nutrition for kittens, adults and seniors.', products: [
    ['Indoor Cat Chicken 4 kg', 2899], ['Kitten Pate Variety (24 x 85 g)', 2199], ['Tuna in Broth Pouches (12 x 70 g)', 1249],
    ['Hairball Control Salmon 2 kg', 1799], ['Grain-Free Rabbit 1.5 kg', 2050] ] },
  { slug: 'toys', name: 'Toys', description: 'Chew, fetch and puzzle toys.', products: [
    ['Rubber Chew Bone (Large)', 1299], ['Rope Tug Toy', 899], ['Feather Wand Teaser', 649], ['Treat Puzzle Feeder', 2499],
    ['Squeaky Plush Hedgehog', 799], ['Laser Chase Pointer', 1099] ] },
  { slug: 'aquarium', name: 'Aquarium', description: 'Tanks, filters and care for fish.', products: [
    ['60 L Glass Aquarium Kit', 11999], ['Canister Filter 800 L/h', 8950], ['Tropical Flake Food 200 g', 999],
    ['Water Conditioner 500 ml', 1149], ['LED Aquarium Light 60 cm', 4599] ] },
  { slug: 'birds', name: 'Bird Supplies', description: 'Seed, cages and perches for pet birds.', products: [
    ['Budgie Seed Mix 2 kg', 899], ['Parrot Pellets 1.5 kg', 2399], ['Flight Cage (Medium)', 8999], ['Natural Wood Perch Set', 1499] ] },
  { slug: 'small-pets', name: 'Small Pets', description: 'Everything for rabbits, guinea pigs and hamsters.', products: [
    ['Timothy Hay 5 kg', 2199], ['Guinea Pig Pellets 2 kg', 1349], ['Hamster Wheel 21 cm', 1599], ['Paper Bedding 30 L', 1799] ] },
];

const CENTERS: Array<{ code: string; name: string; zones: string[] }> = [
  { code: 'RNO1', name: 'Reno, NV', zones: ['west', 'mountain'] },
  { code: 'CMH1', name: 'Columbus, OH', zones: ['central', 'east'] },
  { code: 'ABE1', name: 'Allentown, PA', zones: ['east'] },
];

/** A small deterministic generator, so that every fresh database holds the same catalog. */
function* sequence(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1103515245 + 12345) % 2147483648;
    yield state;
  }
}

/** Seeds an empty database with the pet-store catalog; a database that has products is left as it is. */
export async function seedCatalog(db: pg.Pool): Promise<void> {
  const { rows } = await db.query<{ count: string }>('SELECT count(*) FROM products');
  if (Number(rows[0]?.count) > 0) return;

  const random = sequence(42);
  const next = (): number => random.next().value as number;
  const created = Date.UTC(2024, 0, 15, 9, 30, 0, 0);
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    for (const [index, center] of CENTERS.entries()) {
      await client.query('INSERT INTO fulfillment_centers (id, code, name, shipping_zones) VALUES ($1, $2, $3, $4)',
        [index + 1, center.code, center.name, center.zones]);
    }
    let productId = 1000;
    for (const [categoryIndex, category] of CATEGORIES.entries()) {
      const categoryId = categoryIndex + 1;
      await client.query('INSERT INTO categories (id, slug, name, description) VALUES ($1, $2, $3, $4)',
        [categoryId, category.slug, category.name, category.description]);
      for (const [name, priceCents] of category.products) {
        productId += 1;
        // Whole seconds: the monolith shows milliseconds and the new services do not, and both
        // must still name the same instant.
        const createdAt = new Date(created + (next() % 86_400) * 30_000);
        const updatedAt = new Date(createdAt.getTime() + (next() % 86_400) * 60_000);
        await client.query(
          `INSERT INTO products (id, sku, name, description, category_id, price_cents, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [productId, `${category.slug.toUpperCase().slice(0, 3)}-${productId}`, name, `${name} from our ${category.name} range.`,
            categoryId, priceCents, createdAt, updatedAt]);
        for (let center = 1; center <= CENTERS.length; center++) {
          await client.query('INSERT INTO stock (product_id, center_id, quantity) VALUES ($1, $2, $3)',
            [productId, center, next() % 60]);
        }
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}
