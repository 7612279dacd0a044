import { createHash, type Hash } from "node:crypto";

/** OpenAI caches prompts of at least 1,024 tokens, in steps of 128 (its prompt caching guide). */
const MIN_CACHED = 1024;
const STEP = 128;
/** Prefixes remembered before the cache starts over (the demo runs for hours at most). */
const MOST_PREFIXES = 100_000;

/**
 * A prompt cache as OpenAI documents it, over demo tokens: a prompt of 1,024 tokens or more
 * reports as `cached_tokens` the longest prefix, in steps of 128 from 1,024, that an earlier
 * prompt to the same model had. So a conversation sent again with a turn more reports most of
 * its prompt cached, as agents and chats see it.
 */
export class PromptCache {
  private readonly prefixes = new Set<string>();

  /** Other providers cache in other units (DeepSeek: from 64 tokens, in steps of 64). */
  constructor(
    private readonly minimum = MIN_CACHED,
    private readonly step = STEP,
  ) {}

  /** The cached tokens of this prompt; remembers its prefixes for the next one. */
  cachedTokens(model: string, tokens: readonly string[]): number {
    if (tokens.length < this.minimum) return 0;
    if (this.prefixes.size > MOST_PREFIXES) this.prefixes.clear();
    const hash: Hash = createHash("sha256").update(`${model}\n`);
    let cached = 0;
    let hashed = 0;
    for (let length = this.minimum; length <= tokens.length; length += this.step) {
      for (; hashed < length; hashed++) hash.update(`${tokens[hashed]}\u0000`);
      const prefix = hash.copy().digest("base64");
      if (this.prefixes.has(prefix)) cached = length;
      else this.prefixes.add(prefix);
    }
    return cached;
  }
}
