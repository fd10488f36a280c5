
/** An HTTP method and path template, such as `GET /products/{id}`, owned by one group. */
export interface Route {
  readonly method: string;
  readonly template: string;
  readonly group: string;
  /** `METHOD template`: the metric label, and the routeKey of the Lambda event. */
  readonly key: string;
  /** An Optimizely event to track when this route answers 2xx (an A/B conversion). */
  readonly conversion: string | undefined;
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Readonly<Record<string, string>>;
}

/** A literal is kept lower-case when the table ignores letter case. */
type Segment = { literal: string } | { param: string; greedy: boolean };

interface CompiledRoute { route: Route; segments: Segment[] }

const TEMPLATE = /^\/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\})?(?:\/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]+|\{[A-Za-z_][A-Za-z0-9_]*\+?\}))*$/;
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export class RouteSyntaxError extends Error {}

/** Parses `GET /products/{id}`; `{name+}` as the last segment takes the rest of the path. */
export function parseRoute(spec: string, group: string, conversion?: string): Route {
  const [method, template, ...rest] = spec.trim().split(/\s+/);
  if (!method || !template || rest.length > 0 || !METHODS.includes(method)) {
    throw new RouteSyntaxError(`expected "METHOD /path/{param}" with METHOD one of ${METHODS.join(', ')}, got "${spec}"`);
  }
  if (!TEMPLATE.test(template) || /\{[^}]+\+\}\/./.test(template)) {
    throw new RouteSyntaxError(`"${template}" is not a path template (segments, {param}, and {rest+} only last)`);
  }
  return { method, template, group, key: `${method} ${template}`, conversion };
}

function pathSegments(path: string): string[] {
  return path === '/' ? [] : path.split('/').slice(1);
}

function compile(route: Route, caseSensitive: boolean): CompiledRoute {
  return {
    route,
    segments: pathSegments(route.template).map((part) => {
      const param = /^\{(\w+)(\+?)\}$/.exec(part);
      if (param) return { param: param[1] as string, greedy: param[2] === '+' };
      return { literal: caseSensitive ? part : part.toLowerCase() };
    }),
  };
}

/** Literal segments outrank parameters, so `/products/featured` wins over `/products/{id}`. */
function specificity(compiled: CompiledRoute): number[] {
  return compiled.segments.map((segment) => ('literal' in segment ? 2 : segment.greedy ? 0 : 1));
}

function bySpecificity(a: CompiledRoute, b: CompiledRoute): number {
  const left = specificity(a);
  const right = specificity(b);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (right[i] ?? -1) - (left[i] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

function matchSegments(segments: Segment[], parts: string[], caseSensitive: boolean): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  for (const [index, segment] of segments.entries()) {
    if ('literal' in segment) {
      const part = parts[index];
      if ((caseSensitive ? part : part?.toLowerCase()) !== segment.literal) return undefined;
    } else if (segment.greedy) {
      if (index >= parts.length) return undefined;
      params[segment.param] = parts.slice(index).map(decodeURIComponent).join('/');
      return params;
    } else {
      const part = parts[index];
      if (part === undefined || part === '') return undefined;
      params[segment.param] = decodeURIComponent(part);
    }
  }
  return parts.length === segments.length ? params : undefined;
}

/** How the route table reads a path, to agree with how the legacy system reads it. */
export interface RoutingConfig {
  /** `/PRODUCTS/1` is `/products/1` when false. */
  readonly caseSensitive: boolean;
  /** `optional`: one trailing slash may follow a route's path. Repeated slashes are never merged. */
  readonly trailingSlash: 'strict' | 'optional';
}

/**
 * The proxy's route table: METHOD + path to the route, and so to its group. It reads letter case
 * and a trailing slash as the legacy system does (`routing`), so that no spelling of a routed
 * path can reach legacy as unmatched traffic and slip past the group's stage.
 */
export class RouteTable {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly Route[], private readonly routing: RoutingConfig = { caseSensitive: true, trailingSlash: 'strict' }) {
    this.compiled = routes.map((route) => compile(route, routing.caseSensitive)).sort(bySpecificity);
  }

  match(method: string, path: string): RouteMatch | undefined {
    const trimmed = this.routing.trailingSlash === 'optional' && path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const parts = pathSegments(trimmed);
    const lookup = method === 'HEAD' ? ['HEAD', 'GET'] : [method];
    for (const candidate of lookup) {
      for (const { route, segments } of this.compiled) {
        if (route.method !== candidate) continue;
        try {
          const params = matchSegments(segments, parts, this.routing.caseSensitive);
          if (params) return { route, params };
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }
}
