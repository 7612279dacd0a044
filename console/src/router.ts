import { store } from "./store";

/** Hash routes (`#/keys?key_name=x`): the server only serves `/` and `/assets/*`. */
export interface Route {
  path: string;
  query: URLSearchParams;
}

function parse(): Route {
  const hash = location.hash.replace(/^#/, "");
  const at = hash.indexOf("?");
  const path = (at < 0 ? hash : hash.slice(0, at)) || "/";
  return { path, query: new URLSearchParams(at < 0 ? "" : hash.slice(at + 1)) };
}

export const route = store<Route>(parse());
addEventListener("hashchange", () => route.set(parse()));

export function href(path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const text = params.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

export function go(path: string, query?: Record<string, string | undefined>): void {
  const target = href(path, query);
  if (location.hash !== target) location.hash = target;
  else route.set(parse());
}

/**
 * Replaces the current entry (redirects), so Back does not bounce. With `from`, only while the
 * address still shows that path: a redirect decided at a render runs after it, by which time
 * the visitor (or a link they opened) may have gone elsewhere, and must not be sent back.
 */
export function redirect(path: string, from?: string): void {
  if (from !== undefined && parse().path !== from) return;
  history.replaceState(null, "", href(path));
  route.set(parse());
}
