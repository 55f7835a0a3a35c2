import { ROUTES, type RouteDefinition } from '../functions/http/route-table';

type Segment =
  | { kind: 'literal'; text: string }
  | { kind: 'param'; name: string }
  | { kind: 'greedy'; name: string };

/** One API Gateway resource (a path template) and the methods the route table defines on it. */
interface Resource {
  readonly path: string;
  readonly segments: readonly Segment[];
  readonly routes: ReadonlyMap<string, RouteDefinition>;
}

export type RouteMatch =
  | { kind: 'found'; route: RouteDefinition; pathParameters: Record<string, string> | null }
  | { kind: 'method-not-allowed'; resource: string; allowed: readonly string[] }
  | { kind: 'not-found' };

const RANK = { literal: 0, param: 1, greedy: 2 } as const;

function parseTemplate(path: string): Segment[] {
  return splitPath(path).map((part): Segment => {
    const param = /^\{([A-Za-z0-9_]+)(\+?)\}$/.exec(part);
    if (!param?.[1]) return { kind: 'literal', text: part };
    return param[2] ? { kind: 'greedy', name: param[1] } : { kind: 'param', name: param[1] };
  });
}

const splitPath = (path: string): string[] => path.split('/').filter((part) => part.length > 0);

/** Left to right, a literal segment beats a parameter, which beats a greedy parameter. */
function compareSpecificity(a: Resource, b: Resource): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let index = 0; index < length; index += 1) {
    const left = a.segments[index];
    const right = b.segments[index];
    if (!left || !right) return left ? -1 : 1;
    const difference = RANK[left.kind] - RANK[right.kind];
    if (difference !== 0) return difference;
  }
  return 0;
}

function matchSegments(
  segments: readonly Segment[],
  parts: readonly string[],
): Record<string, string> | undefined {
  const parameters: Record<string, string> = {};
  for (let index = 0; index < segments.length; index += 1) {
    const segment = segments[index];
    if (!segment) return undefined;
    if (segment.kind === 'greedy') {
      const rest = parts.slice(index);
      if (rest.length === 0) return undefined;
      parameters[segment.name] = rest.map(decode).join('/');
      return parameters;
    }
    const part = parts[index];
    if (part === undefined) return undefined;
    if (segment.kind === 'literal') {
      if (decode(part) !== segment.text) return undefined;
    } else {
      parameters[segment.name] = decode(part);
    }
  }
  return segments.length === parts.length ? parameters : undefined;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/**
 * Matches request paths against the route table the way API Gateway walks its resource tree: the most
 * specific resource wins, and a method missing on that resource is a 405 (no fallback to a less
 * specific resource, e.g. GET /v1/cards/lookup is not GET /v1/cards/{cardId}).
 */
export function createRouteMatcher(
  routes: readonly RouteDefinition[] = ROUTES,
): (method: string, path: string) => RouteMatch {
  const byPath = new Map<string, Map<string, RouteDefinition>>();
  for (const route of routes) {
    const methods = byPath.get(route.path) ?? new Map<string, RouteDefinition>();
    methods.set(route.method, route);
    byPath.set(route.path, methods);
  }
  const resources: Resource[] = [...byPath.entries()]
    .map(([path, methods]) => ({ path, segments: parseTemplate(path), routes: methods }))
    .sort(compareSpecificity);

  return (method, path) => {
    const parts = splitPath(path);
    for (const resource of resources) {
      const parameters = matchSegments(resource.segments, parts);
      if (!parameters) continue;
      const route = resource.routes.get(method.toUpperCase());
      if (!route)
        return { kind: 'method-not-allowed', resource: resource.path, allowed: [...resource.routes.keys()] };
      return { kind: 'found', route, pathParameters: Object.keys(parameters).length > 0 ? parameters : null };
    }
    return { kind: 'not-found' };
  };
}
