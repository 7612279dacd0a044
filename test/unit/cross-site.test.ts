import { describe, expect, it } from "vitest";
import { requireBodyType, requireOwnOrigin } from "../../shared/http/cross-site";
import { createDispatcher } from "../../shared/http/dispatch";
import { publicRoute } from "../../shared/http/route";
import type { GatewayRequest } from "../../shared/http/types";
import type { Services } from "../../shared/services";

function request(headers: Record<string, string>, body = "{}"): GatewayRequest {
  return {
    id: "req_1",
    method: "POST",
    path: "/api/user/login",
    query: new URLSearchParams(),
    headers,
    body: new TextEncoder().encode(body),
    receivedAt: 0,
  };
}

const statusOf = (check: () => void) => {
  try {
    check();
    return 200;
  } catch (err) {
    return (err as { status: number }).status;
  }
};

describe("the body type of a write to /api", () => {
  it("must be JSON, parameters allowed", () => {
    expect(statusOf(() => requireBodyType(request({ "content-type": "application/json" })))).toBe(
      200,
    );
    expect(
      statusOf(() =>
        requireBodyType(request({ "content-type": "Application/JSON; charset=utf-8" })),
      ),
    ).toBe(200);
  });

  it("may not be what a form or a no-cors fetch of another site sends", () => {
    for (const type of [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
    ])
      expect(statusOf(() => requireBodyType(request({ "content-type": type })))).toBe(415);
    // A body that does not say what it is.
    expect(statusOf(() => requireBodyType(request({})))).toBe(415);
  });

  it("is not asked of a write without a body, and a route may declare another", () => {
    expect(statusOf(() => requireBodyType(request({}, "")))).toBe(200);
    const form = request({ "content-type": "application/x-www-form-urlencoded" }, "a=b");
    expect(statusOf(() => requireBodyType(form, ["application/x-www-form-urlencoded"]))).toBe(200);
  });
});

describe("the dispatcher's check of a write to /api", () => {
  it("reads the route's own path: a doubled slash (the router's same route) still needs JSON", async () => {
    const dispatch = createDispatcher(
      [
        publicRoute("POST", "/api/user/login", "one-api", async () => ({
          status: 200,
          headers: {},
          body: "",
        })),
      ],
      {} as Services,
    );
    for (const path of ["/api/user/login", "//api/user/login", "/api//user/login/"]) {
      const answer = await dispatch({ ...request({ "content-type": "text/plain" }), path }, {
        afterResponse: () => {},
      } as never);
      expect(answer.status, path).toBe(415);
    }
  });
});

describe("the Origin of a sign-in or registration", () => {
  const from = (origin: string | undefined, host = "abc.lambda-url.us-east-1.on.aws") =>
    request({ host, ...(origin === undefined ? {} : { origin }) });

  it("may be absent (a program, not a browser) or the site's own", () => {
    expect(statusOf(() => requireOwnOrigin(from(undefined), []))).toBe(200);
    expect(
      statusOf(() => requireOwnOrigin(from("https://abc.lambda-url.us-east-1.on.aws"), [])),
    ).toBe(200);
    expect(
      statusOf(() => requireOwnOrigin(from("http://127.0.0.1:8080", "127.0.0.1:8080"), [])),
    ).toBe(200);
    // Behind a domain of one's own the function sees its own Host, the browser the domain.
    expect(
      statusOf(() =>
        requireOwnOrigin(from("https://api.example.com"), ["https://api.example.com"]),
      ),
    ).toBe(200);
  });

  it("may not be another site, a look-alike, or null", () => {
    for (const origin of [
      "https://evil.example",
      "https://abc.lambda-url.us-east-1.on.aws.evil.example",
      "https://api.example.com:8443",
      "null",
      "file://",
    ])
      expect(statusOf(() => requireOwnOrigin(from(origin), ["https://api.example.com"]))).toBe(403);
  });
});
