/**
 * What a call consumed, by kind of usage, as providers bill it. Token kinds are DISJOINT:
 * every token the provider counted is in exactly one of them (readers of the providers' usage
 * shapes convert: OpenAI's `prompt_tokens` includes its cached tokens, Anthropic's
 * `input_tokens` excludes its cache reads and writes).
 */
export interface Metered {
  // The prompt's side.
  /** Text input, neither read from nor written to a cache. */
  inputTokens?: number;
  /** Input read from a prompt cache (OpenAI cached_tokens, Anthropic cache reads, DeepSeek hits). */
  cachedInputTokens?: number;
  /** Input written to a prompt cache kept 5 minutes (Anthropic's default; OpenAI's cache writes). */
  cacheWriteTokens?: number;
  /** Input written to a prompt cache kept an hour (Anthropic's `ttl: "1h"`). */
  cacheWrite1hTokens?: number;
  audioInputTokens?: number;
  cachedAudioInputTokens?: number;
  imageInputTokens?: number;
  cachedImageInputTokens?: number;
  // The answer's side.
  /** Text output, reasoning not included. */
  outputTokens?: number;
  reasoningTokens?: number;
  audioOutputTokens?: number;
  imageOutputTokens?: number;
  // Not tokens.
  /** Calls priced per call (1 for a call with a per-call fee). */
  calls?: number;
  images?: { count: number; size: string; quality: string };
  ttsCharacters?: number;
  /** Seconds of audio transcribed, whole seconds rounded up, as per-minute models bill them. */
  sttSeconds?: number;
}

/** The token kinds of a prompt, and of an answer. */
export const INPUT_KINDS = [
  "inputTokens",
  "cachedInputTokens",
  "cacheWriteTokens",
  "cacheWrite1hTokens",
  "audioInputTokens",
  "cachedAudioInputTokens",
  "imageInputTokens",
  "cachedImageInputTokens",
] as const satisfies readonly (keyof Metered)[];

export const OUTPUT_KINDS = [
  "outputTokens",
  "reasoningTokens",
  "audioOutputTokens",
  "imageOutputTokens",
] as const satisfies readonly (keyof Metered)[];

export type TokenKind = (typeof INPUT_KINDS)[number] | (typeof OUTPUT_KINDS)[number];

/** Every token the prompt side counted (what OpenAI reports as prompt_tokens). */
export function promptTokensOf(metered: Metered): number {
  return INPUT_KINDS.reduce((sum, kind) => sum + (metered[kind] ?? 0), 0);
}

/** Every token the answer side counted (what OpenAI reports as completion_tokens). */
export function completionTokensOf(metered: Metered): number {
  return OUTPUT_KINDS.reduce((sum, kind) => sum + (metered[kind] ?? 0), 0);
}
