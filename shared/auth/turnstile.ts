import { randomUUID } from "node:crypto";
import type { UpstreamFetch } from "../relay/upstream";

/**
 * Cloudflare Turnstile's server-side check of a widget's token (siteverify). A token proves
 * nothing until siteverify says so: it is valid once, for 300 seconds, for the hostname and
 * the widget `action` it was solved on. See
 * https://developers.cloudflare.com/turnstile/get-started/server-side-validation/.
 */
export interface TurnstileCheck {
  /** siteverify's URL: Cloudflare's, or a test's fake. */
  url: string;
  secret: string;
  /** The widget's token (`cf-turnstile-response`). */
  token: string;
  /** The visitor's address, which Cloudflare compares with the one that solved it. */
  remoteIp?: string;
  /** The page's hostname the token must have been solved on. */
  hostname?: string;
  /** The widget's action it must have been solved for. */
  action: string;
}

/**
 * `passed`, or refused with Cloudflare's error codes (`invalid-input-response`,
 * `timeout-or-duplicate`, …) and ours: `hostname-mismatch`, `action-mismatch`.
 * `unavailable`: siteverify did not answer with a verdict; nobody passes then.
 */
export type TurnstileVerdict =
  | { outcome: "passed" }
  | { outcome: "refused"; codes: string[] }
  | { outcome: "unavailable" };

/** Cloudflare documents 2,048 characters as the longest token. */
export const TURNSTILE_TOKEN_MAX = 2048;
const ATTEMPTS = 2;

export async function verifyTurnstile(
  fetch: UpstreamFetch,
  check: TurnstileCheck,
  timeoutMs = 5_000,
): Promise<TurnstileVerdict> {
  const form = new URLSearchParams({ secret: check.secret, response: check.token });
  if (check.remoteIp) form.set("remoteip", check.remoteIp);
  // A token verifies once: a second try after a lost answer must carry the same key, or
  // Cloudflare would call the token spent.
  form.set("idempotency_key", randomUUID());
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let answer: SiteverifyAnswer;
    try {
      const response = await fetch(check.url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: form.toString(),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (response.status >= 500) continue;
      answer = JSON.parse(await response.text()) as SiteverifyAnswer;
    } catch {
      continue; // unreachable, timed out, or not JSON (a proxy's error page)
    }
    if (typeof answer?.success !== "boolean") continue;
    if (!answer.success) {
      const codes = (Array.isArray(answer["error-codes"]) ? answer["error-codes"] : []).map(String);
      // Cloudflare's own failure, which it says may be tried again (with the same key).
      if (codes.includes("internal-error")) continue;
      return { outcome: "refused", codes };
    }
    // A site key may be valid on several hostnames, and one widget's token on another form.
    if (check.hostname && answer.hostname !== check.hostname)
      return { outcome: "refused", codes: ["hostname-mismatch"] };
    if (answer.action !== check.action) return { outcome: "refused", codes: ["action-mismatch"] };
    return { outcome: "passed" };
  }
  return { outcome: "unavailable" };
}

interface SiteverifyAnswer {
  success?: unknown;
  "error-codes"?: unknown;
  hostname?: unknown;
  action?: unknown;
  challenge_ts?: unknown;
}
