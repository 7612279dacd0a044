/**
 * Upper bounds of the prompt tokens a request can be billed for, to size its hold. A hold
 * that is too small lets a balance go negative, so every rule here errs high, and each says
 * why it is high enough:
 *
 * - Text counts one token per UTF-8 byte. GPT tokenizers (cl100k_base, o200k_base) are
 *   byte-level BPE: every byte is a token of its own and merges only ever join them, so no
 *   text has more tokens than bytes. Half a token per byte is *not* a bound: digits and
 *   punctuation ("1,2,3", JSON arrays of numbers) run at one token per byte.
 * - JSON the model reads (tools, response_format schemas, tool calls, unknown fields and
 *   parts) counts by the bytes of its JSON text, which is more than the model's rendering
 *   of it (the rendering drops quotes, braces and most keys).
 * - Images count at the most their model can bill for one image, whatever `detail` asks.
 * - Audio and files count by their decoded bytes (see the constants below).
 *
 * Callers: hold `chatPromptBound(body, imageFormulaFor(model))` prompt tokens for a chat
 * completion (edits: the chat they become), `completionPromptBound(body)` for a legacy one,
 * `embeddingInputBound(body.input)` for embeddings and text moderations, in place of
 * `upperTokenEstimate` and its overheads; add `predictionBound(body)` to the completion
 * tokens held. Settle from the upstream's usage as before: these are bounds, not counts.
 */
import { isPdf, scanPdf } from "../media/pdf-scan";

/** How a model counts an image's tokens, at the largest size and detail it accepts. */
export type ImageTokenFormula =
  /** gpt-4o / gpt-4.1 / gpt-5 / o-series style: fit in 2048², shortest side 768, 512-px tiles. */
  | { kind: "tiles"; base: number; perTile: number }
  /**
   * gpt-4.1-mini / nano, o4-mini style: 32-px patches, at most `budget` of them (1,536
   * unless given), each costing `multiplier` tokens.
   */
  | { kind: "patches"; multiplier: number; budget?: number };

const tiles = (base: number, perTile: number): ImageTokenFormula => ({
  kind: "tiles",
  base,
  perTile,
});
const patches = (multiplier: number, budget?: number): ImageTokenFormula =>
  budget ? { kind: "patches", multiplier, budget } : { kind: "patches", multiplier };

/**
 * OpenAI's "Images and vision" guide (calculating costs). Tile models: base + tiles × per
 * tile; patch models: patches × multiplier. A name matches an entry when it is the entry or
 * starts with it and a dash ("gpt-4o-2024-08-06"); the first match wins, so longer names
 * come first.
 */
const BY_PREFIX: [prefix: string, formula: ImageTokenFormula][] = [
  // 33× gpt-4o's tokens for an image, at a 17× cheaper token: the image costs twice as much.
  ["gpt-4o-mini", tiles(2_833, 5_667)],
  ["gpt-4o", tiles(85, 170)],
  ["chatgpt-4o", tiles(85, 170)],
  ["gpt-4.1-mini", patches(1.62)],
  ["gpt-4.1-nano", patches(2.46)],
  ["gpt-4.1", tiles(85, 170)],
  ["gpt-4.5", tiles(85, 170)],
  ["gpt-4-turbo", tiles(85, 170)],
  ["gpt-4-vision", tiles(85, 170)],
  ["gpt-4-1106-vision", tiles(85, 170)],
  ["o4-mini", patches(1.72)],
  ["o1", tiles(75, 150)],
  ["o3", tiles(75, 150)],
  ["computer-use", tiles(65, 129)],
];

/**
 * gpt-5 and gpt-5.1 are tile models (70 + 140 a tile); their -mini and -nano count patches
 * (×1.62, ×2.46, the guide's figures; OpenAI's pricing calculator uses less, ×1.2 and ×1.5).
 * From gpt-5.2 on, models count patches at about ×1.2 (measured by users, not documented),
 * and newer ones take `detail: "original"` with a budget of 10,000 patches, not 1,536: not
 * knowing which do, all of them are held at that budget.
 */
function gpt5Formula(minor: number, name: string): ImageTokenFormula {
  const budget = minor >= 2 ? 10_000 : undefined;
  if (/-nano(?:-|$)/.test(name)) return patches(2.46, budget);
  if (/-mini(?:-|$)/.test(name)) return patches(1.62, budget);
  return minor >= 2 ? patches(1.2, budget) : tiles(70, 140);
}

/**
 * The formula for a model name (known families by prefix; unknown models get the most
 * expensive known formula so the hold stays an upper bound). A provider prefix such as
 * "openai/" is ignored. Pass the name the client asked for; where channels map it to other
 * upstream models, the hold must use the dearest of them.
 */
export function imageFormulaFor(model: string): ImageTokenFormula {
  const name = (model.toLowerCase().split("/").pop() ?? "").trim();
  const gpt5 = /^gpt-5(?:\.(\d+))?(?=-|$)/.exec(name);
  if (gpt5) return gpt5Formula(Number(gpt5[1] ?? 0), name);
  for (const [prefix, formula] of BY_PREFIX)
    if (name === prefix || name.startsWith(`${prefix}-`)) return formula;
  return MOST_EXPENSIVE;
}

/**
 * High detail first fits the image in 2048×2048, then shrinks it so its shortest side is at
 * most 768 (images are never enlarged: users measured a 128×64 image billing one tile). Whatever the order of
 * those steps, the result is at most 768 × 2048, which 512-px tiles cover with 2 × 4 = 8
 * (768×2048 itself, e.g. from 1536×4096, reaches it). Tile counts are whole per side, so no
 * rounding of the scaled sides (≤ 768 → 2 tiles, ≤ 2048 → 4 tiles) can add a ninth.
 */
const MAX_TILES = 2 * 4;
/** The guide: "the token cost is the number of patches, capped at a maximum of 1536". */
const PATCH_BUDGET = 1_536;

/** Most tokens one image can cost under a formula (worst aspect ratio, high detail). */
export function maxImageTokens(formula: ImageTokenFormula): number {
  if (formula.kind === "tiles") return formula.base + MAX_TILES * formula.perTile;
  // Rounded to a millionth first, so that float noise (10,000 × 1.62 = 16,200.000…02)
  // does not add a token.
  const tokens = (formula.budget ?? PATCH_BUDGET) * formula.multiplier;
  return Math.ceil(Math.round(tokens * 1e6) / 1e6);
}

const KNOWN_FORMULAS = [
  ...BY_PREFIX.map(([, formula]) => formula),
  gpt5Formula(0, "gpt-5"),
  gpt5Formula(0, "gpt-5-nano"),
  gpt5Formula(2, "gpt-5.2-nano"),
  gpt5Formula(2, "gpt-5.2"),
];
const MOST_EXPENSIVE = KNOWN_FORMULAS.reduce((dearest, formula) =>
  maxImageTokens(formula) > maxImageTokens(dearest) ? formula : dearest,
);

/** Role markers and separators around each chat message (3 in OpenAI's counting guide). */
const TOKENS_PER_MESSAGE = 4;
/** The tokens that start the assistant's reply (3 in the guide). */
const REPLY_PRIMING = 3;
/** Markers around each content part (an image's start and end, say). */
const TOKENS_PER_PART = 4;
/**
 * The text a request's tools, functions or response format add around their JSON (the
 * "# Tools … namespace functions {" header, the system message made to hold it).
 */
const REQUEST_OVERHEAD = 64;
/** Markers around each legacy prompt (fill-in-the-middle tokens when there is a suffix). */
const TOKENS_PER_PROMPT = 4;

/**
 * Audio: about 10 tokens a second (OpenAI priced input audio at $100 per 1M tokens, "about
 * $0.06 a minute"), held at twice that, 20, as no model documents its rate. Chat takes WAV
 * and MP3. A WAV's header says its rate; anything else is taken to be at 6 kbit/s (750 bytes
 * a second), below MP3's lowest standard bitrate (8 kbit/s) and Opus's lowest (6 kbit/s).
 */
const AUDIO_TOKENS_PER_SECOND = 20;
const LOWEST_AUDIO_BYTES_PER_SECOND = 750;

/**
 * A file known only by id (or URL) has no bytes to count. OpenAI's PDF guide allows 100
 * pages a request; each is held as a page image plus 4,000 tokens of text (a dense page of
 * small print is ~1,500). Callers that can look the file up should count its bytes instead.
 */
const UNSEEN_FILE_PAGES = 100;
const UNSEEN_FILE_TEXT_PER_PAGE = 4_000;

/**
 * An assistant message's `audio: {id}` replays earlier spoken output, up to a reply's worth:
 * 16,384 tokens, the largest output of OpenAI's audio chat models.
 */
const REPLAYED_AUDIO = 16_384;

/** Fields of a chat request that steer sampling or delivery and are never shown to the model. */
const NOT_READ = new Set([
  "model",
  "messages",
  "stream",
  "stream_options",
  "user",
  "metadata",
  "store",
  "temperature",
  "top_p",
  "n",
  "max_tokens",
  "max_completion_tokens",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "seed",
  "stop",
  "service_tier",
  "parallel_tool_calls",
  "safety_identifier",
  "prompt_cache_key",
  "prompt_cache_retention",
]);

/** An upper bound of the prompt tokens of a chat completion request body. */
export function chatPromptBound(body: Record<string, unknown>, formula: ImageTokenFormula): number {
  const messages = Array.isArray(body.messages) ? body.messages : [body.messages];
  let tokens = REPLY_PRIMING;
  for (const message of messages) tokens += messageBound(message, formula);
  // Everything else the model may read: tools, functions, tool_choice, response_format
  // (json_schema included), prediction, and any field this list does not know.
  const read = Object.entries(body).filter(([field]) => !NOT_READ.has(field));
  if (read.length > 0) tokens += REQUEST_OVERHEAD + jsonBytes(Object.fromEntries(read));
  return tokens;
}

function messageBound(message: unknown, formula: ImageTokenFormula): number {
  if (!isRecord(message)) return TOKENS_PER_MESSAGE + jsonBytes(message);
  // role, name, tool_calls, function_call, tool_call_id, refusal… count as JSON.
  const { content, audio, ...fields } = message;
  let tokens = TOKENS_PER_MESSAGE + jsonBytes(fields) + contentBound(content, formula);
  if (audio !== undefined && audio !== null) tokens += REPLAYED_AUDIO + jsonBytes(audio);
  return tokens;
}

function contentBound(content: unknown, formula: ImageTokenFormula): number {
  if (content === undefined || content === null) return 0;
  if (typeof content === "string") return utf8Bytes(content);
  if (!Array.isArray(content)) return jsonBytes(content);
  let tokens = 0;
  for (const part of content) tokens += TOKENS_PER_PART + partBound(part, formula);
  return tokens;
}

function partBound(part: unknown, formula: ImageTokenFormula): number {
  if (typeof part === "string") return utf8Bytes(part);
  if (!isRecord(part)) return jsonBytes(part);
  switch (part.type) {
    case "text":
    case "input_text":
      return typeof part.text === "string" ? utf8Bytes(part.text) : jsonBytes(part);
    case "refusal":
      return typeof part.refusal === "string" ? utf8Bytes(part.refusal) : jsonBytes(part);
    case "image_url":
    case "input_image":
      // Any detail: "low" is only a request, and the hold must cover the largest.
      return maxImageTokens(formula);
    case "input_audio": {
      const audio = isRecord(part.input_audio) ? part.input_audio : part;
      return typeof audio.data === "string"
        ? audioTokens(decodeBase64(audio.data))
        : jsonBytes(part);
    }
    case "file":
    case "input_file": {
      const file = isRecord(part.file) ? part.file : part;
      const name = typeof file.filename === "string" ? utf8Bytes(file.filename) : 0;
      if (typeof file.file_data === "string")
        return name + fileTokens(decodeBase64(file.file_data), formula);
      if (file.file_id !== undefined || file.file_url !== undefined)
        return name + UNSEEN_FILE_PAGES * (maxImageTokens(formula) + UNSEEN_FILE_TEXT_PER_PAGE);
      return jsonBytes(part);
    }
    default:
      // A part type this code does not know is read somehow: its JSON is the bound.
      return jsonBytes(part);
  }
}

/**
 * Predicted output that the model rejects is billed as completion tokens, which
 * `max_completion_tokens` need not cap: add this to the completion tokens held.
 */
export function predictionBound(body: Record<string, unknown>): number {
  return jsonBytes(body.prediction);
}

/** The same for legacy completions (prompt: string | string[] | number[] | number[][], suffix). */
export function completionPromptBound(body: Record<string, unknown>): number {
  const prompt = body.prompt ?? "";
  // One prompt may be a string, or token ids; several are an array of either.
  const prompts =
    Array.isArray(prompt) && !prompt.every((item) => typeof item === "number") ? prompt : [prompt];
  const suffix = typeof body.suffix === "string" ? utf8Bytes(body.suffix) : jsonBytes(body.suffix);
  let tokens = 0;
  for (const one of prompts) tokens += TOKENS_PER_PROMPT + inputBound(one) + suffix;
  return tokens;
}

/** Embeddings input (string | string[] | number[] | number[][]). */
export function embeddingInputBound(input: unknown): number {
  if (Array.isArray(input) && !input.every((item) => typeof item === "number")) {
    let tokens = 0;
    for (const item of input) tokens += inputBound(item);
    return tokens;
  }
  return inputBound(input);
}

/** One string (by its bytes) or list of token ids (exactly); anything else by its JSON. */
function inputBound(input: unknown): number {
  if (input === undefined || input === null) return 0;
  if (typeof input === "string") return utf8Bytes(input);
  if (typeof input === "number") return 1;
  if (Array.isArray(input) && input.every((item) => typeof item === "number")) return input.length;
  return jsonBytes(input);
}

function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

function jsonBytes(value: unknown): number {
  if (value === undefined) return 0;
  return utf8Bytes(JSON.stringify(value) ?? "");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Bytes of base64 or of a data URL (base64 or percent-encoded). */
function decodeBase64(data: string): Buffer {
  const match = /^data:([^,]*),/.exec(data);
  if (!match) return Buffer.from(data, "base64");
  const payload = data.slice(match[0].length);
  if (/;base64$/i.test(match[1] ?? "")) return Buffer.from(payload, "base64");
  try {
    return Buffer.from(decodeURIComponent(payload), "utf8");
  } catch {
    return Buffer.from(payload, "utf8");
  }
}

/** Tokens of a recording: its length at most, by a WAV header or the lowest bitrate. */
function audioTokens(data: Uint8Array): number {
  const bytesPerSecond = wavBytesPerSecond(data) ?? LOWEST_AUDIO_BYTES_PER_SECOND;
  return Math.ceil((data.byteLength / bytesPerSecond) * AUDIO_TOKENS_PER_SECOND);
}

/**
 * The lowest data rate a WAV header allows for: for PCM-like formats the smaller of the
 * stated byte rate and sample rate × channels × bytes a sample (decoders use the latter, so
 * a lying byte rate cannot shrink the hold); for compressed ones the stated byte rate, and no
 * more than 6 kbit/s. The whole file is taken as samples, which only lengthens it.
 */
function wavBytesPerSecond(data: Uint8Array): number | undefined {
  const ascii = (at: number) => String.fromCharCode(...data.subarray(at, at + 4));
  if (data.byteLength < 12 || ascii(0) !== "RIFF" || ascii(8) !== "WAVE") return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 12; at + 24 <= data.byteLength; at += 8 + view.getUint32(at + 4, true)) {
    if (ascii(at) !== "fmt ") continue;
    const format = view.getUint16(at + 8, true);
    const channels = view.getUint16(at + 10, true);
    const sampleRate = view.getUint32(at + 12, true);
    const byteRate = view.getUint32(at + 16, true) || Number.POSITIVE_INFINITY;
    const bits = view.getUint16(at + 22, true);
    // PCM, IEEE float, A-law, µ-law, and WAVE_FORMAT_EXTENSIBLE.
    const pcm = [1, 3, 6, 7, 0xfffe].includes(format);
    const rate = pcm
      ? Math.min(byteRate, sampleRate * channels * Math.ceil(bits / 8))
      : Math.min(byteRate, LOWEST_AUDIO_BYTES_PER_SECOND);
    return rate > 0 && Number.isFinite(rate) ? rate : LOWEST_AUDIO_BYTES_PER_SECOND;
  }
  return undefined;
}

/**
 * Tokens of a file: its bytes as text and, for a PDF, one image per page too (OpenAI gives
 * the model "the extracted text and an image of each page"). A PDF's text may sit in
 * compressed streams, which can hold far more than the file's bytes: those count too.
 */
function fileTokens(data: Buffer, formula: ImageTokenFormula): number {
  if (!isPdf(data)) return data.byteLength;
  const { pages, inflatedBytes } = scanPdf(data);
  return data.byteLength + inflatedBytes + pages * maxImageTokens(formula);
}
