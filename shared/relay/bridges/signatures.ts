/**
 * Thinking signatures that sluice mints (DESIGN-20 rule 3). A chat upstream's
 * `reasoning_content` becomes an Anthropic `thinking` block, which clients expect to carry a
 * signature; sluice signs it `sluice1.<22 base64url characters of sha256(text)>`, so that the
 * block is recognisably sluice's. Anthropic would refuse such a signature ("Invalid
 * signature"), so before a history reaches an Anthropic-native channel exactly those blocks are
 * removed (cleanSluiceThinking), and the Messages face answers with `x-sluice-thinking: dropped`
 * to say so. Anthropic-signed blocks are never touched, empty ones included.
 */
import { createHash } from "node:crypto";

/** What every sluice-minted signature starts with. */
export const SLUICE_SIGNATURE_PREFIX = "sluice1.";

/** The signature sluice gives a thinking block it converted from `text`. */
export function mintSignature(text: string): string {
  const digest = createHash("sha256").update(text).digest("base64url").slice(0, 22);
  return `${SLUICE_SIGNATURE_PREFIX}${digest}`;
}

/** Whether `signature` is one sluice minted (and so one Anthropic would refuse). */
export function isSluiceSignature(signature: unknown): boolean {
  return typeof signature === "string" && signature.startsWith(SLUICE_SIGNATURE_PREFIX);
}

/** A Messages request with sluice's thinking blocks taken out. */
export interface CleanedHistory {
  /** The request body without them (a new object; the input is not changed). */
  body: Record<string, unknown>;
  /**
   * The request's `thinking` was removed too: `thinking.type` was `enabled` and the last
   * assistant turn, which a trailing tool_result answers, lost its only thinking block, which
   * Anthropic refuses ("Expected `thinking` … but found `tool_use`"). Removing `thinking` is the
   * escape that error names.
   */
  thinkingDropped: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === "object" && !Array.isArray(value);

const isSluiceThinking = (block: unknown): boolean =>
  isObject(block) && block.type === "thinking" && isSluiceSignature(block.signature);

/**
 * The request without the thinking blocks sluice signed, for an Anthropic-native channel; or
 * undefined when it has none, and its bytes should go through unchanged. An assistant message
 * left with no content gets one `(empty)` text block (Anthropic refuses empty content).
 */
export function cleanSluiceThinking(body: Record<string, unknown>): CleanedHistory | undefined {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const holds = (m: unknown) =>
    isObject(m) && Array.isArray(m.content) && m.content.some(isSluiceThinking);
  if (!messages.some(holds)) return undefined;
  let lostLastThinking = false;
  const lastAssistant = messages.findLastIndex((m) => isObject(m) && m.role === "assistant");
  const cleaned = messages.map((message, i) => {
    if (!holds(message)) return message;
    const m = message as Record<string, unknown>;
    const content = (m.content as unknown[]).filter((block) => !isSluiceThinking(block));
    const thinkingLeft = content.some(
      (b) => isObject(b) && (b.type === "thinking" || b.type === "redacted_thinking"),
    );
    if (i === lastAssistant && !thinkingLeft) lostLastThinking = true;
    return { ...m, content: content.length > 0 ? content : [{ type: "text", text: "(empty)" }] };
  });
  const last = messages.at(-1);
  const trailingToolResult =
    isObject(last) &&
    last.role === "user" &&
    Array.isArray(last.content) &&
    last.content.some((b) => isObject(b) && b.type === "tool_result");
  const thinkingDropped =
    lostLastThinking &&
    trailingToolResult &&
    lastAssistant === messages.length - 2 &&
    isObject(body.thinking) &&
    body.thinking.type === "enabled";
  const { thinking: _, ...withoutThinking } = body;
  return {
    body: { ...(thinkingDropped ? withoutThinking : body), messages: cleaned },
    thinkingDropped,
  };
}
