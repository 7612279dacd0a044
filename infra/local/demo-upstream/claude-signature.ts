import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Thinking signatures as the Claude fixtures issue and check them. Anthropic signs each
 * thinking block and refuses one whose signature is missing, empty, truncated or not its own
 * (measured: openclaw/openclaw PR #70437), while an edited thinking text still passes; so a
 * signature here is a nonce and an HMAC of it under the server's secret, not bound to the text.
 * A relay that loses, forges or truncates a signature then fails the way Anthropic would fail
 * it. One secret per demo upstream: its Anthropic and Bedrock endpoints share it, as Anthropic's
 * signatures are valid across the platforms that serve Claude.
 */
export class ThinkingSigner {
  constructor(private readonly secret: Buffer = randomBytes(32)) {}

  sign(): string {
    const nonce = randomBytes(24);
    return Buffer.concat([nonce, this.mac(nonce)]).toString("base64");
  }

  verify(signature: unknown): boolean {
    if (typeof signature !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
    const bytes = Buffer.from(signature, "base64");
    if (bytes.length !== 56) return false;
    return timingSafeEqual(bytes.subarray(24), this.mac(bytes.subarray(0, 24)));
  }

  private mac(nonce: Buffer): Buffer {
    return createHmac("sha256", this.secret).update("thinking\n").update(nonce).digest();
  }
}
