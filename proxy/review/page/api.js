// The review API of this admin port. Every failure becomes one line a reviewer can read: the
// API's own `{ "error": "…" }` when it sent one, else what went wrong on the way.

const { URLSearchParams } = globalThis;

export class ApiError extends Error {}

export async function getJson(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') query.set(key, String(value));
  }
  const search = query.toString();
  const url = `${path}${search ? `?${search}` : ''}`;
  let response;
  try {
    response = await globalThis.fetch(url, { headers: { accept: 'application/json' }, cache: 'no-store' });
  } catch (error) {
    throw new ApiError(`cannot reach the admin port (${url}): ${error.message}`);
  }
  const text = await response.text();
  let body;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const said = body && typeof body.error === 'string' ? body.error : `${response.statusText || 'request failed'}`;
    throw new ApiError(`${response.status} from ${path}: ${said.split('\n')[0]}`);
  }
  if (body === undefined) throw new ApiError(`${path} answered ${response.status} without JSON`);
  return body;
}

export const api = {
  groups: (window) => getJson('/api/groups', { window }),
  fields: (group, route) => getJson('/api/fields', { group, route }),
  diffs: (filter) => getJson('/api/diffs', filter),
  diff: (id) => getJson(`/api/diffs/${encodeURIComponent(id)}`),
};
