/**
 * A small router: static paths by map lookup, parameterised paths by a short scan. A
 * ":name" segment matches one segment; a final ":name*" matches the rest of the path, for
 * ids that contain slashes (model names such as "meta-llama/Llama-3-8b").
 */
export interface RouteMatch<T> {
  route: T;
  params: Record<string, string>;
}

interface Compiled<T> {
  method: string;
  segments: string[];
  route: T;
}

export class Router<T extends { method: string; path: string }> {
  private readonly exact = new Map<string, T>();
  private readonly patterns: Compiled<T>[] = [];
  private readonly knownPaths = new Set<string>();

  constructor(routes: readonly T[]) {
    for (const route of routes) {
      const path = normalizePath(route.path);
      if (path.includes("/:")) {
        this.patterns.push({ method: route.method, segments: path.split("/"), route });
      } else {
        this.exact.set(`${route.method} ${path}`, route);
        this.knownPaths.add(path);
      }
    }
  }

  /** undefined when nothing matches; `methodNotAllowed` when the path exists for another method. */
  match(method: string, rawPath: string): RouteMatch<T> | { methodNotAllowed: true } | undefined {
    const path = normalizePath(rawPath);
    const route = this.exact.get(`${method} ${path}`);
    if (route) return { route, params: {} };
    const segments = path.split("/");
    let pathMatched = this.knownPaths.has(path);
    for (const candidate of this.patterns) {
      const params = matchSegments(candidate.segments, segments);
      if (!params) continue;
      if (candidate.method === method) return { route: candidate.route, params };
      pathMatched = true;
    }
    return pathMatched ? { methodNotAllowed: true } : undefined;
  }
}

function matchSegments(pattern: string[], actual: string[]): Record<string, string> | undefined {
  const last = pattern[pattern.length - 1] as string;
  const rest = last.startsWith(":") && last.endsWith("*");
  if (rest ? actual.length < pattern.length : pattern.length !== actual.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i] as string;
    const value = actual[i] as string;
    if (rest && i === pattern.length - 1) {
      const tail = actual.slice(i).join("/");
      if (tail === "") return undefined;
      params[expected.slice(1, -1)] = safeDecode(tail);
    } else if (expected.startsWith(":")) {
      if (value === "") return undefined;
      params[expected.slice(1)] = safeDecode(value);
    } else if (expected !== value) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** "/api/token/" and "/api/token" are the same route (one-api clients use both). */
export function normalizePath(path: string): string {
  const collapsed = path.replace(/\/{2,}/g, "/");
  return collapsed.length > 1 && collapsed.endsWith("/") ? collapsed.slice(0, -1) : collapsed;
}
