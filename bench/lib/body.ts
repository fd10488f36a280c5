/**
 * The fixed response of the bench's upstreams: one JSON:API product document of about 2 KB, the
 * size the earlier measurements used (1,955 bytes), so figures stay comparable across runs.
 * Legacy and the new side answer the same bytes, so every Cutover comparison is a match and the
 * shadow rows measure the cost of comparing, not of reporting differences.
 */
const product = {
  data: {
    type: 'products',
    id: '1',
    attributes: {
      sku: 'TOY-ROPE-0001', gtin: '00012345678905',
      name: 'Rope Tug Toy',
      description: 'A sturdy braided cotton rope for tug of war, fetch and chewing. Machine washable; knots at both ends keep a grip for small and large dogs alike.',
      care: 'Rinse after muddy play and air dry. Check for loose strands every few weeks and replace the toy once the knots fray; supervise puppies while they chew. Not for use as a leash or a tie-out, and not for cats or other small pets.',
      price: 8.99,
      currency: 'USD',
      inStock: 42,
      weightGrams: 180,
      dimensions: { lengthCm: 45, widthCm: 6, heightCm: 6 },
      tags: ['dog', 'toy', 'rope', 'tug', 'chew', 'cotton'],
      rating: { average: 4.6, count: 1289 },
      createdAt: '2024-01-15T09:30:00.000Z',
      updatedAt: '2024-06-01T12:00:00.000Z',
    },
    relationships: {
      category: { data: { type: 'categories', id: '7' }, links: { related: '/products/1/category' } },
      brand: { data: { type: 'brands', id: '3' }, links: { related: '/products/1/brand' } },
      variants: { data: [{ type: 'variants', id: '11' }, { type: 'variants', id: '12' }, { type: 'variants', id: '13' }] },
    },
    links: { self: '/products/1' },
  },
  included: [
    { type: 'categories', id: '7', attributes: { name: 'Dog toys', slug: 'dog-toys', path: ['Dogs', 'Toys'] }, links: { self: '/categories/7' } },
    { type: 'brands', id: '3', attributes: { name: 'Happy Paws', country: 'US', founded: 2009 }, links: { self: '/brands/3' } },
    { type: 'variants', id: '11', attributes: { size: 'S', lengthCm: 30, price: 6.99, inStock: 17 }, links: { self: '/variants/11' } },
    { type: 'variants', id: '12', attributes: { size: 'M', lengthCm: 45, price: 8.99, inStock: 42 }, links: { self: '/variants/12' } },
    { type: 'variants', id: '13', attributes: { size: 'L', lengthCm: 60, price: 11.99, inStock: 9 }, links: { self: '/variants/13' } },
  ],
  meta: { generatedBy: 'cutover-bench', origin: 'legacy', note: 'A fixed document: the bench measures the proxy, not this upstream.' },
  jsonapi: { version: '1.1' },
};

export const PRODUCT_BODY = JSON.stringify(product);
export const PRODUCT_CONTENT_TYPE = 'application/vnd.api+json';
