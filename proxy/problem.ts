import type { ServerResponse } from 'node:http';

/**
 * Answers a request the proxy itself cannot serve with a JSON:API error document, the media
 * type both sides of the pet store speak. A response already under way can only be cut.
 */
export function sendProblem(res: ServerResponse, status: number, code: string, detail: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemDocument(status, code, detail);
  res.writeHead(status, { ...headers, 'content-type': 'application/vnd.api+json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The JSON:API error document of a problem the proxy answers itself. */
export function problemDocument(status: number, code: string, detail: string): string {
  return JSON.stringify({ errors: [{ status: String(status), code, title: httpTitle(status), detail }] });
}

function httpTitle(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large',
    500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  };
  return titles[status] ?? 'Error';
}
