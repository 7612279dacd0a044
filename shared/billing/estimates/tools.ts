/**
 * What a request's function definitions add to its prompt, by OpenAI's documented rule: the
 * cookbook "How to count tokens with tiktoken" §7, num_tokens_for_tools (openai/openai-cookbook,
 * examples/How_to_count_tokens_with_tiktoken.ipynb; research/prices/usage-shapes.md §9),
 * verified there against the API for gpt-3.5-turbo, gpt-4, gpt-4o and gpt-4o-mini. Its gpt-4o
 * constants are used for every o200k_base model, its gpt-4 ones for every cl100k_base model.
 * Like the cookbook, nested object parameters count by their key, type and description only.
 */
import type { EncodingName, TokenCounter } from "../tokens";
import { type Fields, isRecord, recordsIn, textOf } from "./json";

const CONSTANTS: Record<EncodingName, { funcInit: number }> = {
  o200k_base: { funcInit: 7 },
  cl100k_base: { funcInit: 10 },
};
const PROP_INIT = 3;
const PROP_KEY = 3;
const ENUM_INIT = -3;
const ENUM_ITEM = 3;
const FUNC_END = 12;

/**
 * Tokens of `tools` (chat's `[{type: "function", function}]`) or legacy `functions`. A tool
 * that is not a function (a built-in tool, a custom grammar) counts as its JSON text.
 */
export function toolTokens(tools: unknown, encoding: EncodingName, count: TokenCounter): number {
  const list = recordsIn(tools);
  if (list.length === 0) return 0;
  let n = 0;
  for (const tool of list) {
    const fn = isRecord(tool.function) ? tool.function : tool.type === undefined ? tool : undefined;
    if (!fn) {
      n += count(JSON.stringify(tool));
      continue;
    }
    n += CONSTANTS[encoding].funcInit;
    n += count(`${textOf(fn.name)}:${withoutFinalPeriod(textOf(fn.description))}`);
    const parameters = isRecord(fn.parameters) ? fn.parameters : {};
    const properties = isRecord(parameters.properties) ? parameters.properties : {};
    const keys = Object.keys(properties);
    if (keys.length > 0) {
      n += PROP_INIT;
      for (const key of keys) n += propertyTokens(key, properties[key], count);
    }
  }
  return n + FUNC_END;
}

function propertyTokens(key: string, value: unknown, count: TokenCounter): number {
  const property: Fields = isRecord(value) ? value : {};
  let n = PROP_KEY;
  if (Array.isArray(property.enum)) {
    n += ENUM_INIT;
    for (const item of property.enum) n += ENUM_ITEM + count(String(item));
  }
  const description = withoutFinalPeriod(textOf(property.description));
  return n + count(`${key}:${textOf(property.type)}:${description}`);
}

function withoutFinalPeriod(value: string): string {
  return value.endsWith(".") ? value.slice(0, -1) : value;
}
