import { describe, expect, it } from "vitest";
import { Router } from "../../shared/http/router";

const routes = [
  { method: "GET", path: "/v1/models", name: "list" },
  { method: "GET", path: "/v1/models/:model*", name: "retrieve" },
  { method: "GET", path: "/api/token/:id", name: "token" },
  { method: "DELETE", path: "/api/token/:id", name: "delete token" },
  { method: "GET", path: "/api/token/", name: "tokens" },
];
const router = new Router(routes);

function nameOf(method: string, path: string) {
  const match = router.match(method, path);
  return match && "route" in match ? { name: match.route.name, params: match.params } : match;
}

describe("Router", () => {
  it("matches static paths, with or without a trailing slash", () => {
    expect(nameOf("GET", "/v1/models")).toEqual({ name: "list", params: {} });
    expect(nameOf("GET", "/api/token")).toEqual({ name: "tokens", params: {} });
    expect(nameOf("GET", "/api/token/")).toEqual({ name: "tokens", params: {} });
  });

  it("extracts and decodes parameters", () => {
    expect(nameOf("GET", "/api/token/ab%20c")).toEqual({ name: "token", params: { id: "ab c" } });
    expect(nameOf("DELETE", "/api/token/x")).toEqual({ name: "delete token", params: { id: "x" } });
  });

  it("lets a rest parameter take ids with slashes", () => {
    expect(nameOf("GET", "/v1/models/meta-llama/Llama-3-8b")).toEqual({
      name: "retrieve",
      params: { model: "meta-llama/Llama-3-8b" },
    });
  });

  it("tells an unknown path from a known path with another method", () => {
    expect(nameOf("GET", "/v1/nope")).toBeUndefined();
    expect(nameOf("POST", "/v1/models")).toEqual({ methodNotAllowed: true });
    expect(nameOf("POST", "/api/token/x")).toEqual({ methodNotAllowed: true });
  });
});
