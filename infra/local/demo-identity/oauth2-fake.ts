import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local OAuth2 authorization server that behaves as GitHub's and LINUX DO's documented ones
 * do for an app: a registered client and redirect URI, single-use codes bound to the client,
 * the redirect URI and the PKCE S256 challenge, then bearer calls for the profile. There is no
 * login page: whoever follows the authorize URL chooses the account by adding its fields to
 * the query (`id`, `login`, `email`, `verified`, `trust_level`, `silenced`), as a test or
 * `npm start`'s visitor would by signing in there.
 */
export interface FakeAccount {
  id: number;
  login: string;
  email?: string;
  verified: boolean;
  trustLevel: number;
  silenced: boolean;
}

export interface OAuth2Fake {
  url: string;
  clientId: string;
  clientSecret: string;
  close(): Promise<void>;
}

interface Grant {
  account: FakeAccount;
  redirectUri: string;
  challenge: string;
}

export interface FakeShape {
  authorizePath: string;
  tokenPath: string;
  /** GitHub takes the client's secret in the form, LINUX DO by HTTP Basic. */
  clientAuth: "body" | "basic";
  /** The profile routes: path → the JSON for an account. */
  api: Record<string, (account: FakeAccount) => unknown>;
  /** How a refused exchange is answered (GitHub: 200 with `error`). */
  refuse(res: ServerResponse, error: string): void;
}

export async function startOAuth2Fake(
  shape: FakeShape,
  options: { redirectUri: string; clientId: string; port?: number },
): Promise<OAuth2Fake> {
  const clientSecret = randomBytes(16).toString("hex");
  const grants = new Map<string, Grant>();
  const tokens = new Map<string, FakeAccount>();
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    try {
      if (req.method === "GET" && url.pathname === shape.authorizePath) return authorize(url, res);
      if (req.method === "POST" && url.pathname === shape.tokenPath)
        return exchange(req, new URLSearchParams(await body(req)), res);
      const route = shape.api[url.pathname];
      if (req.method === "GET" && route) {
        const token = /^(Bearer|token)\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[2];
        const account = token ? tokens.get(token) : undefined;
        if (!account) return send(res, 401, { message: "Bad credentials" });
        return send(res, 200, route(account));
      }
      send(res, 404, { message: "Not Found" });
    } catch {
      send(res, 500, { message: "fake failed" });
    }
  });

  function authorize(url: URL, res: ServerResponse) {
    const q = url.searchParams;
    if (q.get("client_id") !== options.clientId) return send(res, 404, { error: "unknown client" });
    if (q.get("redirect_uri") !== options.redirectUri)
      return send(res, 400, { error: "redirect_uri_mismatch" });
    if (q.get("code_challenge_method") !== "S256" || !q.get("code_challenge"))
      return send(res, 400, { error: "pkce required" });
    const id = Number(q.get("id") ?? "1");
    const account: FakeAccount = {
      id,
      login: q.get("login") ?? `user${id}`,
      email: q.get("email") ?? undefined,
      verified: q.get("verified") !== "false",
      trustLevel: Number(q.get("trust_level") ?? "1"),
      silenced: q.get("silenced") === "true",
    };
    const code = randomBytes(10).toString("hex");
    grants.set(code, {
      account,
      redirectUri: options.redirectUri,
      challenge: q.get("code_challenge") as string,
    });
    const back = new URL(options.redirectUri);
    back.searchParams.set("code", code);
    back.searchParams.set("state", q.get("state") ?? "");
    res.writeHead(302, { location: back.toString() }).end();
  }

  function exchange(req: IncomingMessage, form: URLSearchParams, res: ServerResponse) {
    let id = form.get("client_id");
    let secret = form.get("client_secret");
    if (shape.clientAuth === "basic") {
      const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1];
      const [user, pass] = Buffer.from(basic ?? "", "base64")
        .toString()
        .split(":");
      id = decodeURIComponent(user ?? "");
      secret = decodeURIComponent(pass ?? "");
    }
    if (id !== options.clientId || !same(secret ?? "", clientSecret))
      return shape.refuse(res, "incorrect_client_credentials");
    const code = form.get("code") ?? "";
    const grant = grants.get(code);
    // A code is good once: a replay is refused, as the providers do.
    grants.delete(code);
    if (!grant) return shape.refuse(res, "bad_verification_code");
    if (form.get("redirect_uri") !== grant.redirectUri)
      return shape.refuse(res, "redirect_uri_mismatch");
    const verifier = form.get("code_verifier") ?? "";
    if (createHash("sha256").update(verifier).digest("base64url") !== grant.challenge)
      return shape.refuse(res, "bad_verification_code");
    const token = randomBytes(20).toString("hex");
    tokens.set(token, grant.account);
    send(res, 200, { access_token: token, token_type: "bearer", scope: "user" });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    clientId: options.clientId,
    clientSecret,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function send(res: ServerResponse, status: number, json: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}
