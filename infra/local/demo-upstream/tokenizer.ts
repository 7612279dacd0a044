/**
 * OpenAI's o200k_base tokenizer (gpt-tokenizer), which the Claude and DeepSeek fixtures count
 * tokens with: neither Anthropic's nor DeepSeek's tokenizer is public, and a real BPE gives
 * counts that behave like theirs (they grow with the text, words and code split alike),
 * unlike the one-token-per-word count the OpenAI fixtures use.
 */

export interface Tokenizer {
  count(text: string): number;
  /** The token ids (what a prefix cache compares). */
  ids(text: string): number[];
  /** The text's first `tokens` tokens, as a model cut off by max_tokens would have written. */
  cut(text: string, tokens: number): string;
}
let tokenizer: Promise<Tokenizer> | undefined;

/** o200k_base, loaded on first use (half a second) rather than with every demo upstream. */
export function loadTokenizer(): Promise<Tokenizer> {
  tokenizer ??= import("gpt-tokenizer/encoding/o200k_base").then((o200k) => ({
    count: (text: string) => o200k.countTokens(text),
    ids: (text: string) => o200k.encode(text),
    cut: (text: string, tokens: number) => o200k.decode(o200k.encode(text).slice(0, tokens)),
  }));
  return tokenizer;
}
