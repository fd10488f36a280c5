import { problem } from './jsonapi.js';
import type { Query } from './query.js';

export interface Resource {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  relationships?: Record<string, { data?: { type: string; id: string } | null; links?: Record<string, string> }>;
  links: { self: string };
}

/**
 * Sparse fieldsets: fields[TYPE]=a,b keeps only those attributes and relationships of every
 * resource of that type. A type or a field the API does not have is a 400.
 */
export function sparseFieldsets(query: Query, fieldsByType: Record<string, readonly string[]>): Map<string, Set<string>> {
  const chosen = new Map<string, Set<string>>();
  for (const [type, value] of query.family('fields')) {
    const known = fieldsByType[type];
    if (!known) throw problem(400, 'unknown_type', `fields[${type}]: there is no resource type ${type} here.`, `?fields[${type}]`);
    const fields = value === '' ? [] : value.split(',');
    const unknown = fields.find((field) => !known.includes(field));
    if (unknown !== undefined) throw problem(400, 'unknown_field', `fields[${type}]: ${type} have no field ${unknown}.`, `?fields[${type}]`);
    chosen.set(type, new Set(fields));
  }
  return chosen;
}

export function withFields(resource: Resource, fieldsets: Map<string, Set<string>>): Resource {
  const fields = fieldsets.get(resource.type);
  if (!fields) return resource;
  const sparse: Resource = {
    type: resource.type,
    id: resource.id,
    attributes: Object.fromEntries(Object.entries(resource.attributes).filter(([name]) => fields.has(name))),
    links: resource.links,
  };
  const relationships = Object.entries(resource.relationships ?? {}).filter(([name]) => fields.has(name));
  if (relationships.length > 0) sparse.relationships = Object.fromEntries(relationships);
  return sparse;
}

/** include=a,b: only the relationship paths a route offers; anything else is a 400. */
export function inclusions(query: Query, offered: readonly string[]): Set<string> {
  const requested = query.list('include') ?? [];
  const unknown = requested.find((path) => !offered.includes(path));
  if (unknown !== undefined) throw problem(400, 'unknown_include', `include: the relationship path ${unknown} cannot be included here${offered.length > 0 ? ` (only ${offered.join(', ')})` : ''}.`, '?include');
  return new Set(requested);
}

/** A link with its query, brackets left readable as in the JSON:API examples. */
export function linkTo(path: string, parameters: URLSearchParams): string {
  const query = [...parameters]
    .map(([name, value]) => `${encodeURIComponent(name).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${encodeURIComponent(value).replace(/%2C/g, ',')}`)
    .join('&');
  return query === '' ? path : `${path}?${query}`;
}

/** self, first, last, prev and next for one page of a collection, keeping the request's other parameters. */
export function paginationLinks(path: string, rawQuery: string, page: { number: number; size: number; total: number }): Record<string, string | null> {
  const last = Math.max(1, Math.ceil(page.total / page.size));
  const at = (number: number) => {
    const parameters = new URLSearchParams(rawQuery);
    parameters.set('page[number]', String(number));
    parameters.set('page[size]', String(page.size));
    return linkTo(path, parameters);
  };
  return {
    self: linkTo(path, new URLSearchParams(rawQuery)),
    first: at(1),
    last: at(last),
    prev: page.number > 1 ? at(Math.min(page.number - 1, last)) : null,
    next: page.number < last ? at(page.number + 1) : null,
  };
}
