import { createHash } from "node:crypto";
import type { PromptSegment } from "./claude-request";

/** Anthropic's smallest cacheable prompt on most models (Sonnet; Opus and Haiku need more). */
export const MIN_CACHEABLE_TOKENS = 1024;
/** How many blocks before a breakpoint Anthropic looks back for an earlier cache hit. */
const LOOKBACK_BLOCKS = 20;
const TTL_MS = { "5m": 5 * 60_000, "1h": 60 * 60_000 };
const MOST_ENTRIES = 100_000;

/** A call's input tokens as Anthropic's usage reports them. */
export interface CacheUsage {
  /** `input_tokens`: what was neither read from nor written to the cache. */
  uncached: number;
  /** `cache_read_input_tokens`. */
  read: number;
  /** `cache_creation.ephemeral_5m_input_tokens` and `…_1h_…`; their sum is `cache_creation_input_tokens`. */
  write5m: number;
  write1h: number;
}

/**
 * Anthropic's prompt cache, as its prompt-caching guide describes it: prefixes are cached at
 * the blocks that carry `cache_control` (at most 4), in the order tools, system, messages; a
 * later call reads the longest cached prefix that ends at one of its breakpoints or up to 20
 * blocks before one, and writes the rest up to its last breakpoint, split by TTL (the part up
 * to the last 1-hour breakpoint at the 1-hour rate, the rest at the 5-minute rate). A prefix
 * under the minimum cacheable length is not cached. Reading an entry refreshes its TTL.
 * Entries are per model, as Anthropic's are; one fixture is one organisation.
 */
export class ClaudePromptCache {
  private readonly entries = new Map<string, { expires: number; ttl: "5m" | "1h" }>();

  constructor(private readonly now: () => number = Date.now) {}

  use(model: string, segments: readonly PromptSegment[]): CacheUsage {
    const total = segments.reduce((sum, s) => sum + s.tokens, 0);
    const breakpoints = segments.flatMap((s, i) => (s.cacheControl ? [i] : []));
    const last = breakpoints.at(-1);
    if (last === undefined) return { uncached: total, read: 0, write5m: 0, write1h: 0 };

    const hashes: string[] = [];
    const through: number[] = [];
    const hash = createHash("sha256").update(`${model}\n`);
    let tokens = 0;
    for (const segment of segments) {
      hash.update(`${segment.text}\u0000`);
      hashes.push(hash.copy().digest("base64"));
      tokens += segment.tokens;
      through.push(tokens);
    }

    const now = this.now();
    let readTo = -1;
    for (const point of breakpoints) {
      for (let i = point; i >= Math.max(0, point - LOOKBACK_BLOCKS + 1) && i > readTo; i--) {
        const entry = this.entries.get(hashes[i] as string);
        if (entry && entry.expires > now) {
          readTo = i;
          break;
        }
      }
    }
    const read = readTo >= 0 ? (through[readTo] as number) : 0;
    if (readTo >= 0) {
      const entry = this.entries.get(hashes[readTo] as string);
      if (entry) entry.expires = now + TTL_MS[entry.ttl];
    }

    let write5m = 0;
    let write1h = 0;
    if (last > readTo && (through[last] as number) >= MIN_CACHEABLE_TOKENS) {
      if (this.entries.size > MOST_ENTRIES) this.entries.clear();
      for (const point of breakpoints.filter((p) => p > readTo)) {
        const ttl = segments[point]?.cacheControl?.ttl ?? "5m";
        const key = hashes[point] as string;
        const expires = Math.max(this.entries.get(key)?.expires ?? 0, now + TTL_MS[ttl]);
        this.entries.set(key, { expires, ttl: this.entries.get(key)?.ttl === "1h" ? "1h" : ttl });
      }
      const lastHour = breakpoints
        .filter((p) => p > readTo && segments[p]?.cacheControl?.ttl === "1h")
        .at(-1);
      const hourEnd = lastHour === undefined ? read : (through[lastHour] as number);
      write1h = hourEnd - read;
      write5m = (through[last] as number) - hourEnd;
    }
    return { uncached: total - read - write5m - write1h, read, write5m, write1h };
  }
}
