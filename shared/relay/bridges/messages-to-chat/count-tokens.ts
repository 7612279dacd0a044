/**
 * `POST /v1/messages/count_tokens` for a model served by a chat channel (DESIGN-20 §2.7): sluice
 * counts, since the upstream has no such endpoint. o200k_base (billing/tokens.ts, loaded lazily
 * on the first count, so the tokenizer stays off every other call's path) over everything the
 * model reads: the system prompt (billing block aside), each block's text, thinking, tool calls
 * as the JSON of name and input, tool results, tool definitions by the cookbook's rule
 * (estimates/tools.ts); 3 tokens per message and 3 that prime the reply, as chat counts; an
 * image by Anthropic's rule, width × height / 750 once fitted into 1568 px on its long edge
 * (1,568 tokens when its size cannot be read); a PDF is not counted. Anthropic's and the chat hosts' tokenizers are
 * not public, so this is an estimate; the README quotes how far it was measured to be.
 */
import { imageSizeOfUrl } from "../../../billing/estimates/images";
import { toolTokens } from "../../../billing/estimates/tools";
import { type TokenCounter, tokenCounterFor } from "../../../billing/tokens";

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === "object" && !Array.isArray(value);

const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING = 3;
const LONG_EDGE = 1568;
const UNSEEN_IMAGE_TOKENS = 1568;

/** The input tokens of a Messages request (count_tokens' body), as sluice estimates them. */
export async function countMessagesTokens(body: Fields): Promise<number> {
  const count = await tokenCounterFor(String(body.model ?? ""));
  let n = REPLY_PRIMING;
  const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : [];
  n += toolTokens(
    tools.map((t) =>
      t.input_schema === undefined && t.type !== undefined
        ? t
        : { type: "function", function: { ...t, parameters: t.input_schema } },
    ),
    "o200k_base",
    count,
  );
  const system = blocksOf(body.system).filter(
    (b) => !(typeof b.text === "string" && b.text.startsWith("x-anthropic-billing-header:")),
  );
  if (system.length > 0) n += TOKENS_PER_MESSAGE + blocksTokens(system, count);
  for (const message of Array.isArray(body.messages) ? body.messages.filter(isObject) : []) {
    n += TOKENS_PER_MESSAGE + blocksTokens(blocksOf(message.content), count);
  }
  return n;
}

function blocksOf(content: unknown): Fields[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  return Array.isArray(content) ? content.filter(isObject) : [];
}

function blocksTokens(blocks: Fields[], count: TokenCounter): number {
  let n = 0;
  for (const block of blocks) {
    switch (block.type) {
      case "text":
        n += count(String(block.text ?? ""));
        break;
      case "thinking":
        n += count(String(block.thinking ?? ""));
        break;
      case "redacted_thinking":
        break;
      case "tool_use":
        n += count(JSON.stringify({ name: block.name, input: block.input ?? {} }));
        break;
      case "tool_result":
        n += blocksTokens(blocksOf(block.content), count);
        break;
      case "image":
        n += imageTokens(block);
        break;
      case "document": {
        const source = isObject(block.source) ? block.source : {};
        if (source.type === "text") n += count(String(source.data ?? ""));
        else if (source.type === "content") n += blocksTokens(blocksOf(source.content), count);
        // A PDF's pages cannot be read here: not counted (the README says so).
        break;
      }
      default: {
        const { cache_control: _, ...rest } = block;
        n += count(JSON.stringify(rest));
      }
    }
  }
  return n;
}

/** Anthropic's vision rule: width × height / 750, after fitting the long edge into 1568 px. */
function imageTokens(block: Fields): number {
  const source = isObject(block.source) ? block.source : {};
  const url =
    source.type === "base64"
      ? `data:${String(source.media_type ?? "image/png")};base64,${String(source.data ?? "")}`
      : undefined;
  const size = url ? imageSizeOfUrl(url) : undefined;
  if (!size) return UNSEEN_IMAGE_TOKENS;
  const scale = Math.min(1, LONG_EDGE / Math.max(size.width, size.height));
  return Math.ceil((size.width * scale * (size.height * scale)) / 750);
}
