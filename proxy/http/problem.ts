/** The JSON:API error document of a problem the proxy answers itself, the media type both sides of the pet store speak. */
export function problemDocument(status: number, code: string, detail: string): string {
  return JSON.stringify({ errors: [{ status: String(status), code, title: httpTitle(status), detail }] });
}

function httpTitle(status: number): string {
  const titles: Record<number, string> = {
    400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 413: 'Payload Too Large',
    500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
  };
  return titles[status] ?? 'Error';
}
