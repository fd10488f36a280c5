import type { HttpResult } from './lambda.js';

export const JSON_API = 'application/vnd.api+json';

export interface ErrorObject {
  status: string;
  code: string;
  title: string;
  detail: string;
  source?: { pointer?: string; parameter?: string };
}

export function document(statusCode: number, body: object, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': JSON_API, ...headers }, body: JSON.stringify(body) };
}

export function errorDocument(error: ErrorObject): HttpResult {
  return document(Number(error.status), { errors: [error] });
}

export function notFound(detail: string): HttpResult {
  return errorDocument({ status: '404', code: 'not_found', title: 'Not Found', detail });
}
