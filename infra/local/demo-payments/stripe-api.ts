import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";

/**
 * A demo of the part of Stripe's API that sluice uses, for `npm start` and the tests: the real
 * `stripe` client is pointed at it ({host, port, protocol: "http"}). It answers
 * `POST /v1/checkout/sessions` and `GET /v1/checkout/sessions/<id>` in Stripe's documented
 * shapes (form-encoded parameters, Bearer secret key, Idempotency-Key honoured), and its
 * checkout page "pays": the session becomes complete and paid, and `checkout.session.completed`
 * is POSTed to the webhook, signed with `Stripe.webhooks.generateTestHeaderString`.
 *
 * For tests, `GET /demo/event/<session id>?type=…` answers `{payload, header}`: an event about
 * the session as it now is, signed; `?forge=amount_total:1` changes a field of the session
 * after signing (what an attacker who cannot sign would send); `?delivered` answers the event
 * the checkout page POSTed to the webhook, byte for byte (what Stripe sends again on a retry).
 */
export interface DemoStripeApi {
  url: string;
  secretKey: string;
  webhookSecret: string;
  close(): Promise<void>;
}

type Session = Record<string, unknown> & { id: string };

const id = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;

export async function startDemoStripeApi(webhookUrl: () => string): Promise<DemoStripeApi> {
  const secretKey = `sk_test_sluicedemo_${randomBytes(12).toString("hex")}`;
  const webhookSecret = `whsec_${randomBytes(24).toString("hex")}`;
  const sessions = new Map<string, Session>();
  const byIdempotencyKey = new Map<string, string>();
  const delivered = new Map<string, { payload: string; header: string }>();
  let base = "";

  const event = (type: string, session: Session, forge: string[] = []) => {
    const object = { ...session };
    const payload = JSON.stringify({
      id: id("evt"),
      object: "event",
      api_version: Stripe.API_VERSION,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type,
      data: { object },
    });
    const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: webhookSecret });
    let sent = payload;
    for (const change of forge) {
      const [field, value] = change.split(":");
      const parsed = JSON.parse(sent);
      parsed.data.object[field as string] = /^\d+$/.test(value ?? "") ? Number(value) : value;
      sent = JSON.stringify(parsed);
    }
    return { payload: sent, header };
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? "/", base);
      const body = await readBody(req);
      const path = url.pathname;
      if (path.startsWith("/v1/")) {
        if (req.headers.authorization !== `Bearer ${secretKey}`)
          return json(res, 401, stripeError("Invalid API Key provided."));
        if (req.method === "POST" && path === "/v1/checkout/sessions") {
          const key = req.headers["idempotency-key"] as string | undefined;
          const known = key && byIdempotencyKey.get(key);
          if (known) return json(res, 200, sessions.get(known));
          const session = createSession(new URLSearchParams(body), base);
          if ("error" in session) return json(res, 400, session);
          sessions.set(session.id, session);
          if (key) byIdempotencyKey.set(key, session.id);
          return json(res, 200, session);
        }
        const match = /^\/v1\/checkout\/sessions\/([^/]+)$/.exec(path);
        if (req.method === "GET" && match) {
          const session = sessions.get(decodeURIComponent(match[1] as string));
          if (!session) return json(res, 404, stripeError("No such checkout.session"));
          return json(res, 200, session);
        }
        return json(res, 404, stripeError(`Unrecognized request URL (${req.method}: ${path}).`));
      }
      const page = /^\/c\/pay\/([^/]+)$/.exec(path);
      const session = page ? sessions.get(page[1] as string) : undefined;
      if (page && session && req.method === "GET") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        return res.end(
          `<!doctype html><title>Demo Stripe Checkout</title><h1>Demo Stripe Checkout</h1>` +
            `<p>${session.amount_total} ${session.currency}</p>` +
            `<form method="post"><button type="submit">Pay</button></form>`,
        );
      }
      if (page && session && req.method === "POST") {
        Object.assign(session, {
          status: "complete",
          payment_status: "paid",
          payment_intent: session.payment_intent ?? id("pi"),
        });
        const signed = event("checkout.session.completed", session);
        delivered.set(session.id, signed);
        // A lost webhook is what the return page's reconcile is for: the answer is not awaited.
        await fetch(webhookUrl(), {
          method: "POST",
          headers: { "content-type": "application/json", "stripe-signature": signed.header },
          body: signed.payload,
        }).catch(() => undefined);
        res.writeHead(303, { location: String(session.success_url) });
        return res.end();
      }
      const demo = /^\/demo\/event\/([^/]+)$/.exec(path);
      const about = demo ? sessions.get(demo[1] as string) : undefined;
      if (about && url.searchParams.has("delivered")) {
        const sent = delivered.get(about.id);
        return sent ? json(res, 200, sent) : json(res, 404, stripeError("Not delivered"));
      }
      if (about) {
        const type = url.searchParams.get("type") ?? "checkout.session.completed";
        return json(res, 200, event(type, about, url.searchParams.getAll("forge")));
      }
      json(res, 404, stripeError("Not found"));
    } catch (err) {
      json(res, 500, stripeError(String(err)));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    secretKey,
    webhookSecret,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A session from Stripe's form-encoded create parameters (only those sluice sends). */
function createSession(
  form: URLSearchParams,
  base: string,
): Session | ReturnType<typeof stripeError> {
  const get = (name: string) => form.get(name) ?? undefined;
  const amount = Number(get("line_items[0][price_data][unit_amount]"));
  const quantity = Number(get("line_items[0][quantity]") ?? "1");
  const currency = get("line_items[0][price_data][currency]");
  if (get("mode") !== "payment" || !Number.isSafeInteger(amount) || !currency)
    return stripeError("mode, line_items[0][price_data][unit_amount] and currency are required");
  const expiresAt = Number(get("expires_at"));
  const now = Math.floor(Date.now() / 1000);
  if (expiresAt && (expiresAt < now + 1800 || expiresAt > now + 86400))
    return stripeError("expires_at must be between 30 minutes and 24 hours from now");
  const metadata: Record<string, string> = {};
  for (const [name, value] of form) {
    const key = /^metadata\[([^\]]+)\]$/.exec(name)?.[1];
    if (key) metadata[key] = value;
  }
  const sessionId = id("cs_test");
  return {
    id: sessionId,
    object: "checkout.session",
    amount_subtotal: amount * quantity,
    amount_total: amount * quantity,
    cancel_url: get("cancel_url") ?? null,
    client_reference_id: get("client_reference_id") ?? null,
    created: now,
    currency,
    customer_email: get("customer_email") ?? null,
    expires_at: expiresAt || now + 86400,
    livemode: false,
    metadata,
    mode: "payment",
    payment_intent: null,
    payment_status: "unpaid",
    status: "open",
    success_url: get("success_url") ?? null,
    url: `${base}/c/pay/${sessionId}`,
  };
}

function stripeError(message: string) {
  return { error: { type: "invalid_request_error", message } };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json", "request-id": id("req") });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
