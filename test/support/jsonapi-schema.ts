import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

/**
 * The official JSON:API 1.0 response schema (test/fixtures/jsonapi/SOURCE.md says where it
 * comes from). Its links are "format": "uri", which a relative link such as /products/1001 does
 * not meet; JSON:API allows relative links, so formats are not asserted and the schema's own
 * RFC 3986 pattern checks them.
 */
const schema = JSON.parse(readFileSync(new URL('../fixtures/jsonapi/schema-1.0.json', import.meta.url), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema);

/** Asserts that a response body is a valid JSON:API 1.0 document, and returns it parsed. */
export function assertJsonApi<T = JsonApiDocument>(body: string | undefined): T {
  const document: unknown = JSON.parse(body ?? '');
  assert.ok(validate(document), `not a JSON:API 1.0 document: ${JSON.stringify(validate.errors, null, 1)}\n${body}`);
  return document as T;
}

export interface ResourceObject {
  type: string;
  id: string;
  attributes: Record<string, unknown>;
  relationships?: Record<string, { data?: unknown; links?: Record<string, string> }>;
  links?: Record<string, string>;
}

export interface ErrorObject { status: string; code: string; title: string; detail: string; source?: { pointer?: string; parameter?: string } }

export interface JsonApiDocument {
  data?: ResourceObject | ResourceObject[] | null;
  included?: ResourceObject[];
  errors?: ErrorObject[];
  links?: Record<string, string | null>;
  meta?: Record<string, unknown>;
}
