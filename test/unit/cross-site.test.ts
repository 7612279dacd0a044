import { describe, expect, it } from "vitest";
import { requireBodyType, requireOwnOrigin } from "../../shared/http/cross-site";
import type { GatewayRequest } from "../../shared/http/types";

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
