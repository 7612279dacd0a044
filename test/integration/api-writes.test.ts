import { describe, expect, it } from "vitest";
import { randomString } from "../../shared/auth/secrets";
import { type Json, sluice } from "./support";

/**
 * What the run's stack does with a write to /api before any route sees it. How sign-ins are
 * counted is in unit/sign-in-attempts.test.ts (the API in-process, on DynamoDB in memory).
 */

const PASSWORD = "correct horse battery";

interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

async function call(
  base: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: options.headers,
    body: options.body,
  });
  const text = await response.text();
  let body: Json = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON.
  }
  return { status: response.status, body, headers: response.headers };
}

describe("writes to /api on the run's stack", () => {
  it("must say they are JSON; every other type is refused in one-api's envelope", async () => {
    for (const [path, type] of [
      ["/api/user/login", "text/plain"],
      ["/api/user/register", "text/plain;charset=UTF-8"],
      ["/api/token/", "multipart/form-data; boundary=x"],
      ["/api/pricing", "application/x-www-form-urlencoded"],
    ] as const) {
      const answer = await call(sluice.url, path === "/api/pricing" ? "PUT" : "POST", path, {
        body: "{}",
        headers: { "content-type": type, authorization: `Bearer ${sluice.adminToken}` },
      });
      expect(answer.status, `${path} ${type}`).toBe(415);
      expect(answer.body).toMatchObject({ success: false });
    }
  });

  it("refuses a registration from another site's page", async () => {
    const answer = await call(sluice.url, "POST", "/api/user/register", {
      body: JSON.stringify({ username: `x${randomString(8)}`, password: PASSWORD }),
      headers: { "content-type": "application/json", origin: "https://evil.example" },
    });
    expect(answer.status).toBe(403);
  });
});
