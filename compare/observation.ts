/** A JSON value as JSON.parse returns it. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [member: string]: JsonValue };

/** Response headers as Node gives them: names in any case, repeated headers as arrays. */
export type Headers = Readonly<Record<string, string | readonly string[] | number | undefined>>;

/** What one side answered. */
export interface Response {
  readonly status: number;
  readonly headers: Headers;
  /**
   * The body: bytes as received (decoded by Content-Encoding and Content-Type), a string (text;
   * parsed when Content-Type is JSON), or an already parsed JSON value. Absent means empty.
   */
  readonly body?: Uint8Array | string | Exclude<JsonValue, string>;
  /**
   * The body (a string or bytes) is JSON text, whatever Content-Type says. `cutover diff` hands
   * over a body its file gives as a JSON value this way, as the text the file has, so that big
   * numbers and repeated members reach the comparison as they were written.
   */
  readonly bodyIsJson?: boolean;
}

/** A side that did not answer: connection refused, timeout, reset… */
export interface Failure {
  readonly error: string;
}

/** One side's outcome of a request (github/scientist's Observation). */
export type Observation = Response | Failure;

export function isFailure(observation: Observation): observation is Failure {
  return 'error' in observation;
}

export function response(status: number, headers: Headers = {}, body?: Response['body']): Response {
  return Object.freeze(body === undefined ? { status, headers } : { status, headers, body });
}

export function failure(reason: string): Failure {
  return Object.freeze({ error: reason });
}
