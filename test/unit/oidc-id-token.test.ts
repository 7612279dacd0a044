import { generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type OidcProvider, oidcIdentity } from "../../shared/auth/oauth/oidc";

/**
 * The id_token an OpenID Connect provider answers the code with, forged as an attacker on the
 * path (or a provider's compromised token endpoint) would: signed by another key, unsigned,
 * for another client, with another sign-in's nonce, expired, from another issuer. A small
 * issuer on the loopback (discovery, JWKS, token endpoint as the OIDC Core spec has them)
 * answers each; only the genuine token signs in, each forgery is `oauth_failed`.
 */
const CLIENT_ID = "sluice-test";
const CLIENT_SECRET = "client-secret";
const STATE = "state-of-this-browser";
const NONCE = "nonce-of-this-browser";
const VERIFIER = "v".repeat(43);

const issuerKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const otherKey = generateKeyPairSync("rsa", { modulusLength: 2048 });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function jwt(claims: Record<string, unknown>, key: KeyObject | "none" = issuerKey.privateKey) {
  const header = key === "none" ? { alg: "none" } : { alg: "RS256", kid: "k1", typ: "JWT" };
  const input = `${b64(header)}.${b64(claims)}`;
  const signature =
    key === "none" ? "" : sign("sha256", Buffer.from(input), key).toString("base64url");
  return `${input}.${signature}`;
}

let server: Server;
let issuer = "";
/** The id_token the token endpoint answers next. */
let nextIdToken = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", issuer).pathname;
    const send = (body: unknown) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (path === "/.well-known/openid-configuration")
      return send({
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    if (path === "/jwks")
      return send({
        keys: [
          { ...issuerKey.publicKey.export({ format: "jwk" }), kid: "k1", alg: "RS256", use: "sig" },
        ],
      });
    if (path === "/token") {
      req.resume();
      return req.on("end", () =>
        send({ access_token: "at", token_type: "Bearer", expires_in: 60, id_token: nextIdToken }),
      );
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

function provider(): OidcProvider {
  return { slug: "oidc", issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET };
}

function genuine(): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer,
    sub: "user-1",
    aud: CLIENT_ID,
    iat: now,
    exp: now + 300,
    nonce: NONCE,
    email: "user-1@oidc.test",
    email_verified: true,
    preferred_username: "user1",
  };
}

async function signInWith(idToken: string) {
  nextIdToken = idToken;
  const callback = new URL(`http://127.0.0.1/api/oauth/oidc/callback?code=c0de&state=${STATE}`);
  return oidcIdentity(provider(), callback, { state: STATE, nonce: NONCE, verifier: VERIFIER });
}

describe("an OpenID Connect callback's id_token", () => {
  it("signs in when the provider's key signed it for this client and this sign-in", async () => {
    expect(await signInWith(jwt(genuine()))).toEqual({
      provider: "oidc",
      subject: `${issuer} user-1`,
      login: "user1",
      verifiedEmail: "user-1@oidc.test",
    });
  });

  const forgeries: [string, () => string][] = [
    ["signed by another key", () => jwt(genuine(), otherKey.privateKey)],
    ["unsigned (alg none)", () => jwt(genuine(), "none")],
    [
      "with its claims changed after signing",
      () => {
        const [header, , signature] = jwt(genuine()).split(".");
        return `${header}.${b64({ ...genuine(), sub: "admin" })}.${signature}`;
      },
    ],
    ["with another sign-in's nonce", () => jwt({ ...genuine(), nonce: "someone-elses" })],
    ["with no nonce", () => jwt({ ...genuine(), nonce: undefined })],
    ["for another client", () => jwt({ ...genuine(), aud: "another-client" })],
    ["from another issuer", () => jwt({ ...genuine(), iss: "https://evil.example" })],
    ["expired", () => jwt({ ...genuine(), iat: 1_000, exp: 2_000 })],
  ];
  for (const [name, forge] of forgeries)
    it(`is refused ${name}`, async () => {
      await expect(signInWith(forge())).rejects.toMatchObject({ code: "oauth_failed" });
    });
});
