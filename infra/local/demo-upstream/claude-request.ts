import type { Tokenizer } from "./tokenizer";

/**
 * A Messages API request as the Claude fixtures (anthropic.ts, bedrock.ts) read it, and how
 * many tokens it is. Anthropic's tokenizer is not public, so tokens are OpenAI's o200k_base
 * (gpt-tokenizer) over a plain rendering of the prompt: each tool as the JSON of its name,
 * description and schema; each system and content block's text (a tool_use as the JSON of its
 * name and input, a thinking block's text); 3 tokens per message; an image 1,568 tokens
 * (Anthropic's (w×h)/750 for a 1092×1092 image, the size it resizes to). Real Claude counts
 * differ by some percent and by model generation; what the fixtures keep exact is their own
 * consistency: count_tokens equals the input side of a call's usage for the same body.
 */

export interface ClaudeBlock {
  type?: unknown;
  text?: unknown;
  cache_control?: unknown;
  [field: string]: unknown;
}

export interface ClaudeMessage {
  role?: unknown;
  content?: unknown;
  [field: string]: unknown;
}

export interface ClaudeTool {
  name?: unknown;
  description?: unknown;
  input_schema?: unknown;
  cache_control?: unknown;
  type?: unknown;
}

export interface ClaudeRequest {
  model?: unknown;
  max_tokens?: unknown;
  messages?: unknown;
  system?: unknown;
  tools?: unknown;
  thinking?: { type?: unknown; budget_tokens?: unknown; display?: unknown } | null;
  temperature?: unknown;
  top_p?: unknown;
  top_k?: unknown;
  stop_sequences?: unknown;
  stream?: unknown;
  [field: string]: unknown;
}

/** A message's content as blocks (a string is one text block). */
export function blocksOf(content: unknown): ClaudeBlock[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? content.filter(isObject) : [];
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function messagesOf(request: ClaudeRequest): ClaudeMessage[] {
  return Array.isArray(request.messages) ? request.messages.filter(isObject) : [];
}

export function systemBlocksOf(request: ClaudeRequest): ClaudeBlock[] {
  return request.system === undefined ? [] : blocksOf(request.system);
}

export function toolsOf(request: ClaudeRequest): ClaudeTool[] {
  return Array.isArray(request.tools) ? request.tools.filter(isObject) : [];
}

/** Whether the request asks for thinking (`enabled` with a budget, or `adaptive`). */
export function thinkingOn(request: ClaudeRequest): boolean {
  const type = request.thinking?.type;
  return type === "enabled" || type === "adaptive";
}

/**
 * What the person last typed: the text of the last user message that has text, without the
 * `<system-reminder>` blocks Claude Code puts before it.
 */
export function promptText(request: ClaudeRequest): string {
  for (const message of messagesOf(request).toReversed()) {
    if (message.role !== "user") continue;
    const texts = blocksOf(message.content)
      .filter((b) => b.type === "text" && typeof b.text === "string")
      .map((b) => b.text as string)
      .filter((text) => !text.trimStart().startsWith("<system-reminder>"));
    if (texts.length > 0) return texts.join("\n");
  }
  return "";
}

/** Tokens of one image block, whatever its size (see the file comment). */
export const IMAGE_TOKENS = 1568;
const PER_MESSAGE = 3;

/**
 * One cacheable piece of the prompt, in the order Anthropic's prompt cache reads it (tools,
 * then system, then messages): its text (what a cache key hashes), its tokens, and the
 * cache_control it carries, if any.
 */
export interface PromptSegment {
  text: string;
  tokens: number;
  cacheControl?: { ttl: "5m" | "1h" };
}

export function promptSegments(request: ClaudeRequest, tokenizer: Tokenizer): PromptSegment[] {
  const segments: PromptSegment[] = [];
  const push = (text: string, block: { cache_control?: unknown }, extra = 0, images = 0) => {
    const control = block.cache_control;
    segments.push({
      text,
      tokens: tokenizer.count(text) + extra + images * IMAGE_TOKENS,
      ...(isObject(control) && { cacheControl: { ttl: control.ttl === "1h" ? "1h" : "5m" } }),
    });
  };
  for (const tool of toolsOf(request)) {
    push(`tool ${JSON.stringify({ ...tool, cache_control: undefined })}`, tool);
  }
  for (const block of systemBlocksOf(request)) push(`system ${blockText(block)}`, block);
  for (const message of messagesOf(request)) {
    const blocks = blocksOf(message.content);
    if (blocks.length === 0) push(`${String(message.role)}:`, {}, PER_MESSAGE);
    blocks.forEach((block, i) => {
      const images = block.type === "image" ? 1 : imagesInside(block);
      const text = `${i === 0 ? `${String(message.role)}: ` : ""}${blockText(block)}`;
      push(text, block, i === 0 ? PER_MESSAGE : 0, images);
    });
  }
  return segments;
}

/** The text a block puts in front of the model. */
function blockText(block: ClaudeBlock): string {
  switch (block.type) {
    case "text":
      return String(block.text ?? "");
    case "thinking":
      return String(block.thinking ?? "");
    case "redacted_thinking":
    case "image":
      return "";
    case "tool_use":
      return JSON.stringify({ name: block.name, input: block.input });
    case "tool_result":
      return blocksOf(block.content)
        .map((inner) => blockText(inner))
        .join("\n");
    default:
      return JSON.stringify({ ...block, cache_control: undefined });
  }
}

function imagesInside(block: ClaudeBlock): number {
  if (block.type !== "tool_result") return 0;
  return blocksOf(block.content).filter((inner) => inner.type === "image").length;
}

/** Tokens of the whole prompt: what count_tokens answers. */
export function promptTokens(segments: readonly PromptSegment[]): number {
  return segments.reduce((sum, segment) => sum + segment.tokens, 0);
}
