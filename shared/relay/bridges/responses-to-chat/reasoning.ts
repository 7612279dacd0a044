/**
 * Reasoning items that sluice mints (design brief §10.2 rule 9, the pattern of signatures.ts).
 * A chat upstream's `reasoning_content` becomes a Responses `reasoning` item: its text as the
 * summary, and as `encrypted_content` marked `sluice1.` + base64url(text), so that when a
 * client (Codex with `store: false`) sends the item back, sluice recognises its own and hands
 * the text to the chat channel as the assistant turn's `reasoning_content`, which DeepSeek
 * requires on tool turns. OpenAI would refuse such content: a face passing a history through to
 * a native Responses channel drops the items isSluiceReasoning names.
 */
import { SLUICE_SIGNATURE_PREFIX } from "../signatures";

/** The `encrypted_content` sluice gives a reasoning item converted from `text`. */
export function sealReasoning(text: string): string {
  return `${SLUICE_SIGNATURE_PREFIX}${Buffer.from(text, "utf8").toString("base64url")}`;
}

/** The text of a sluice-sealed `encrypted_content`, or undefined for anyone else's. */
export function openReasoning(encrypted: unknown): string | undefined {
  if (typeof encrypted !== "string" || !encrypted.startsWith(SLUICE_SIGNATURE_PREFIX))
    return undefined;
  return Buffer.from(encrypted.slice(SLUICE_SIGNATURE_PREFIX.length), "base64url").toString("utf8");
}

/** Whether an input item is a reasoning item sluice minted. */
export function isSluiceReasoning(item: unknown): boolean {
  return (
    item !== null &&
    typeof item === "object" &&
    (item as Record<string, unknown>).type === "reasoning" &&
    openReasoning((item as Record<string, unknown>).encrypted_content) !== undefined
  );
}
