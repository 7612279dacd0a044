/**
 * Token counts sluice works out itself: an upper estimate of a prompt, to size the hold, and
 * a best guess of text's tokens for the rare calls whose upstream reports no usage (or that
 * ended before it could). The guess follows how GPT tokenizers split text (words with their
 * leading space, digits in threes, punctuation runs, one token or so per CJK character); it
 * is not a BPE tokenizer, and is within a few percent on ordinary prose.
 */

const PIECES =
  /'(?:s|t|re|ve|m|ll|d)|[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]| ?\p{L}+| ?\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+/gu;

/** A best guess of how many tokens `text` is. */
export function countTokens(text: string): number {
  let tokens = 0;
  for (const [piece] of text.matchAll(PIECES)) {
    const letters = piece.trimStart().length;
    if (/^\s+$/.test(piece)) tokens += 1;
    // Common words up to about eight letters are one token; longer ones split into pieces.
    else if (letters <= 8) tokens += 1;
    else tokens += Math.ceil(letters / 6);
  }
  return tokens;
}

/** Per-message overhead of chat formats (role markers and separators). */
export const TOKENS_PER_MESSAGE = 4;

/** The text of a chat request that the model reads: message contents, tool definitions. */
export function chatPromptText(body: Record<string, unknown>): {
  text: string;
  messages: number;
  images: number;
} {
  const messages = Array.isArray(body.messages) ? (body.messages as Record<string, unknown>[]) : [];
  let text = "";
  let images = 0;
  for (const message of messages) {
    const content = message?.content;
    if (typeof content === "string") text += `${content}\n`;
    else if (Array.isArray(content)) {
      for (const part of content as Record<string, unknown>[]) {
        if (typeof part?.text === "string") text += `${part.text}\n`;
        else if (part?.type === "image_url" || part?.type === "input_image") images++;
      }
    }
    if (Array.isArray(message?.tool_calls)) text += JSON.stringify(message.tool_calls);
  }
  if (body.tools !== undefined) text += JSON.stringify(body.tools);
  if (body.functions !== undefined) text += JSON.stringify(body.functions);
  return { text, messages: messages.length, images };
}
