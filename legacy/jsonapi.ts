import type { NextFunction, Request, Response } from 'express';

export const JSON_API = 'application/vnd.api+json';

/** The monolith's error type: thrown anywhere in a route, rendered by the error middleware. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, detail: string, readonly source?: { pointer: string } | { parameter: string }) {
    super(detail);
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 404: 'Not Found', 406: 'Not Acceptable', 409: 'Conflict', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error',
};

/** Every monolith response carries meta.generatedAt, a habit of the old reporting code. */
export function send(res: Response, status: number, body: object): void {
  // A Buffer, so that express adds no charset: JSON:API forbids media type parameters.
  res.status(status).set('content-type', JSON_API).send(Buffer.from(JSON.stringify({ ...body, meta: { generatedAt: new Date().toISOString() } })));
}

export function sendError(res: Response, error: ApiError): void {
  send(res, error.status, {
    errors: [{ status: String(error.status), code: error.code, title: TITLES[error.status] ?? 'Error', detail: error.message, ...(error.source ? { source: error.source } : {}) }],
  });
}

/** JSON:API negotiation as the monolith does it: 406 for an Accept it cannot meet, 415 for a body of another type. */
export function negotiation(req: Request, _res: Response, next: NextFunction): void {
  const accept = req.headers.accept;
  if (accept) {
    const entries = accept.split(',').map((entry) => entry.split(';').map((part) => part.trim())).filter(([type]) => type?.toLowerCase() === JSON_API);
    if (entries.length > 0 && entries.every(([, ...parameters]) => parameters.some((parameter) => !parameter.toLowerCase().startsWith('q=')))) {
      return next(new ApiError(406, 'not_acceptable', `Accept names ${JSON_API} only with media type parameters.`));
    }
  }
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (hasBody && (req.headers['content-type'] ?? '').replace(/\s/g, '').toLowerCase() !== JSON_API) {
    return next(new ApiError(415, 'unsupported_media_type', `Send the request document as ${JSON_API} without media type parameters (got ${req.headers['content-type'] ?? 'no Content-Type'}).`));
  }
  next();
}

/** The request document; the body arrives as text so that malformed JSON gets the monolith's own 400. */
export function body(req: Request): unknown {
  const text = typeof req.body === 'string' ? req.body : '';
  if (text.trim() === '') throw new ApiError(400, 'missing_document', 'The request needs a JSON:API document as its body.');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError(400, 'malformed_json', `The request body is not valid JSON: ${(error as Error).message}.`);
  }
}

export function isDryRun(req: Request): boolean {
  return req.headers['x-cutover-shadow'] === '1';
}

/** Query parameters by their raw names (page[size] stays page[size]); unknown ones are a 400. */
export function queryOf(req: Request, allowed: RegExp[]): Map<string, string> {
  const raw = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(raw)) {
    if (!allowed.some((pattern) => pattern.test(name))) throw new ApiError(400, 'unknown_parameter', `The query parameter ${name} is not supported here.`, { parameter: name });
    if (params.has(name)) throw new ApiError(400, 'repeated_parameter', `The query parameter ${name} is given more than once.`, { parameter: name });
    params.set(name, value);
  }
  return params;
}

export function rawQuery(req: Request): string {
  return req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
}
