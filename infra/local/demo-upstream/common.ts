import { createHash } from "node:crypto";

/** One token per word (with its leading space): simple, deterministic and easy to check. */
export function demoTokens(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/**
 * The reply as demo tokens, cut to `limit` like a model that runs out of max_tokens. Each
 * piece is one completion token and, when streamed, one chunk.
 */
export function replyPieces(
  reply: string,
  limit: number | undefined,
): { pieces: string[]; finishReason: "stop" | "length" } {
  const pieces = demoTokens(reply);
  if (limit !== undefined && pieces.length > limit) {
    return { pieces: pieces.slice(0, limit), finishReason: "length" };
  }
  return { pieces, finishReason: "stop" };
}

/** `length` bytes that depend only on `seed`: SHA-256 of the seed and a block counter. */
export function hashBytes(seed: string, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; i * 32 < length; i++) {
    blocks.push(createHash("sha256").update(`${i}\n${seed}`).digest());
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** An id in OpenAI's style (`chatcmpl-…`, `cmpl-…`), from the clock. */
export function demoId(prefix: string): string {
  return `${prefix}-demo${Date.now().toString(36)}`;
}

export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
