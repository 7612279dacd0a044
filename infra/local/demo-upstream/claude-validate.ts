import {
  blocksOf,
  type ClaudeBlock,
  type ClaudeRequest,
  isObject,
  messagesOf,
  systemBlocksOf,
  thinkingOn,
  toolsOf,
} from "./claude-request";
import type { ThinkingSigner } from "./claude-signature";

/**
 * The checks Anthropic's Messages API makes that a relay can get wrong, with Anthropic's
 * status, error type and message (its own wording where Anthropic's docs, SDK tests or users'
 * reports quote it; a faithful paraphrase where they do not — marked below). The Claude
 * fixtures run them before answering, so a relay that drops a signature, empties a text block,
 * moves a tool_result or forwards a sampling parameter the API version forbids fails here as
 * it would upstream.
 */

export interface ClaudeRejection {
  status: number;
  type: string;
  message: string;
}

/** API versions the fixtures accept: the original one and 2026-10-21 (SDK 1.x's default). */
export const ANTHROPIC_VERSIONS = ["2023-06-01", "2026-10-21"] as const;
export type AnthropicVersion = (typeof ANTHROPIC_VERSIONS)[number];

export interface ValidationContext {
  models: readonly string[];
  version: AnthropicVersion;
  betas: readonly string[];
  signer: ThinkingSigner;
  /** count_tokens takes a Messages body without max_tokens. */
  requireMaxTokens: boolean;
}

const ID = /^[a-zA-Z0-9_-]+$/;
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const DOCS = "https://docs.claude.com/en/docs/build-with-claude/extended-thinking";

export function validateClaudeRequest(
  request: ClaudeRequest,
  context: ValidationContext,
): ClaudeRejection | undefined {
  const invalid = (message: string): ClaudeRejection => ({
    status: 400,
    type: "invalid_request_error",
    message,
  });
  if (typeof request.model !== "string" || request.model === "") {
    return invalid("model: Field required");
  }
  if (!context.models.includes(request.model)) {
    return { status: 404, type: "not_found_error", message: `model: ${request.model}` };
  }
  const maxTokens = request.max_tokens;
  if (maxTokens === undefined) {
    if (context.requireMaxTokens) return invalid("max_tokens: Field required");
  } else if (!Number.isInteger(maxTokens)) {
    return invalid("max_tokens: Input should be a valid integer");
  } else if ((maxTokens as number) < 1) {
    return invalid("max_tokens: Input should be greater than or equal to 1");
  }
  if (request.messages === undefined) return invalid("messages: Field required");
  if (!Array.isArray(request.messages)) return invalid("messages: Input should be a valid list");
  if (request.messages.length === 0) return invalid("messages: at least one message is required");
  if (request.stream !== undefined && typeof request.stream !== "boolean") {
    return invalid("stream: Input should be a valid boolean");
  }
  // API version 2026-10-21 removed the sampling parameters, even at their defaults (Anthropic's
  // migration guide; the message as users quote it).
  if (context.version === "2026-10-21") {
    for (const name of ["temperature", "top_p", "top_k"]) {
      if (request[name] !== undefined) return invalid(`${name}: Extra inputs are not permitted`);
    }
  }
  return (
    checkThinking(request, context, invalid) ??
    checkCacheControl(request, invalid) ??
    checkTools(request, invalid) ??
    checkSystem(request, invalid) ??
    checkMessages(request, context, invalid)
  );
}

type Invalid = (message: string) => ClaudeRejection;

function checkThinking(request: ClaudeRequest, context: ValidationContext, invalid: Invalid) {
  const thinking = request.thinking;
  if (thinking !== undefined && thinking !== null) {
    const type = thinking.type;
    if (type !== "enabled" && type !== "adaptive" && type !== "disabled") {
      return invalid(
        `thinking: Input tag '${String(type)}' found using 'type' does not match any of the expected tags: 'adaptive', 'disabled', 'enabled'`,
      );
    }
    if (type === "enabled") {
      const budget = thinking.budget_tokens;
      if (!Number.isInteger(budget))
        return invalid("thinking.enabled.budget_tokens: Field required");
      if ((budget as number) < 1024) {
        return invalid(
          "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024",
        );
      }
      if (typeof request.max_tokens === "number" && (budget as number) >= request.max_tokens) {
        return invalid(
          `\`max_tokens\` must be greater than \`thinking.budget_tokens\`. Please consult our documentation at ${DOCS}#max-tokens-and-context-window-size`,
        );
      }
    }
  }
  if (
    context.version === "2023-06-01" &&
    thinkingOn(request) &&
    request.temperature !== undefined &&
    request.temperature !== 1
  ) {
    return invalid(
      `\`temperature\` may only be set to 1 when thinking is enabled. Please consult our documentation at ${DOCS}#feature-compatibility`,
    );
  }
  return undefined;
}

/** Every block that may carry cache_control, in the prompt cache's order, with its path. */
function cacheable(request: ClaudeRequest): [string, Record<string, unknown>][] {
  const found: [string, Record<string, unknown>][] = [];
  toolsOf(request).forEach((tool, i) => {
    found.push([`tools.${i}`, tool as Record<string, unknown>]);
  });
  systemBlocksOf(request).forEach((block, i) => {
    found.push([`system.${i}`, block]);
  });
  messagesOf(request).forEach((message, i) => {
    blocksOf(message.content).forEach((block, j) => {
      found.push([`messages.${i}.content.${j}`, block]);
      if (block.type === "tool_result") {
        blocksOf(block.content).forEach((inner, k) => {
          found.push([`messages.${i}.content.${j}.content.${k}`, inner]);
        });
      }
    });
  });
  return found;
}

function checkCacheControl(request: ClaudeRequest, invalid: Invalid) {
  const marked = cacheable(request).filter(([, block]) => block.cache_control !== undefined);
  let sawFiveMinutes = false;
  for (const [path, block] of marked) {
    const control = block.cache_control;
    if (!isObject(control) || control.type !== "ephemeral") {
      return invalid(`${path}.cache_control.type: Input should be 'ephemeral'`);
    }
    if (control.ttl !== undefined && control.ttl !== "5m" && control.ttl !== "1h") {
      return invalid(`${path}.cache_control.ephemeral.ttl: Input should be '5m' or '1h'`);
    }
    // The prompt-caching guide: 1-hour entries must come before 5-minute ones (wording ours).
    if (control.ttl === "1h" && sawFiveMinutes) {
      return invalid(
        `${path}.cache_control: a cache_control block with ttl '1h' must not come after one with ttl '5m'`,
      );
    }
    if (control.ttl !== "1h") sawFiveMinutes = true;
  }
  if (marked.length > 4) {
    return invalid(
      `A maximum of 4 blocks with cache_control may be provided. Found ${marked.length}.`,
    );
  }
  return undefined;
}

function checkTools(request: ClaudeRequest, invalid: Invalid) {
  if (request.tools === undefined) return undefined;
  if (!Array.isArray(request.tools)) return invalid("tools: Input should be a valid list");
  for (const [i, tool] of toolsOf(request).entries()) {
    // Server tools (web_search_…, bash_…) have a type and no schema.
    if (tool.type !== undefined && tool.type !== "custom") continue;
    if (typeof tool.name !== "string" || !TOOL_NAME.test(tool.name)) {
      return invalid(
        `tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`,
      );
    }
    if (!isObject(tool.input_schema))
      return invalid(`tools.${i}.custom.input_schema: Field required`);
  }
  return undefined;
}

function checkSystem(request: ClaudeRequest, invalid: Invalid) {
  for (const block of systemBlocksOf(request)) {
    const problem = textProblem(block);
    if (problem) return invalid(`system: ${problem}`);
  }
  return undefined;
}

function textProblem(block: ClaudeBlock): string | undefined {
  if (block.type !== "text") return undefined;
  if (typeof block.text !== "string") return "text content blocks must have a text field";
  if (block.text === "") return "text content blocks must be non-empty";
  if (block.text.trim() === "") return "text content blocks must contain non-whitespace text";
  return undefined;
}

function checkMessages(request: ClaudeRequest, context: ValidationContext, invalid: Invalid) {
  const messages = messagesOf(request);
  if (messages.length !== (request.messages as unknown[]).length) {
    return invalid("messages: each message must be an object");
  }
  // Claude Code's system turns inside `messages` come with the per-turn-control beta.
  const systemTurns = context.betas.some((beta) => beta.startsWith("per-turn-control"));
  for (const [i, message] of messages.entries()) {
    const roles = systemTurns ? ["user", "assistant", "system"] : ["user", "assistant"];
    if (!roles.includes(message.role as string)) {
      return invalid(
        `messages.${i}.role: Input should be ${roles.map((r) => `'${r}'`).join(" or ")}`,
      );
    }
    const blocks = blocksOf(message.content);
    if (typeof message.content === "string") {
      const problem = textProblem({ type: "text", text: message.content });
      if (problem) return invalid(`messages: ${problem}`);
    } else if (!Array.isArray(message.content)) {
      return invalid(`messages.${i}.content: Input should be a valid list`);
    } else if (
      blocks.length === 0 &&
      !(message.role === "assistant" && i === messages.length - 1)
    ) {
      return invalid(
        `messages.${i}: all messages must have non-empty content except for the optional final assistant message`,
      );
    }
    for (const [j, block] of blocks.entries()) {
      const rejection = checkBlock(
        message.role as string,
        block,
        `messages.${i}.content.${j}`,
        context,
        invalid,
      );
      if (rejection) return rejection;
    }
  }
  return checkToolPairs(messages, invalid) ?? checkThinkingTurn(request, messages, invalid);
}

function checkBlock(
  role: string,
  block: ClaudeBlock,
  path: string,
  context: ValidationContext,
  invalid: Invalid,
): ClaudeRejection | undefined {
  const problem = textProblem(block);
  if (problem) return invalid(`messages: ${problem}`);
  if (context.version === "2026-10-21") {
    // Both refused from 2026-10-21 on (migration guide; wording ours).
    if (
      role === "user" &&
      block.type === "text" &&
      Array.isArray(block.citations) &&
      block.citations.length > 0
    ) {
      return invalid(`${path}.citations: citations are not allowed in user messages`);
    }
    if (role === "assistant" && block.type === "document") {
      return invalid(`${path}: document blocks are not allowed in assistant messages`);
    }
  }
  if (block.type === "tool_use") {
    if (typeof block.id !== "string" || !ID.test(block.id)) {
      return invalid(`${path}.tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`);
    }
  }
  if (block.type === "tool_result") {
    if (typeof block.tool_use_id !== "string" || !ID.test(block.tool_use_id)) {
      return invalid(
        `${path}.tool_result.tool_use_id: String should match pattern '^[a-zA-Z0-9_-]+$'`,
      );
    }
  }
  if (block.type === "thinking") {
    if (block.signature === undefined) return invalid(`${path}.thinking.signature: Field required`);
    if (!context.signer.verify(block.signature)) {
      return invalid(`${path}: Invalid \`signature\` in \`thinking\` block`);
    }
  }
  if (block.type === "redacted_thinking" && !context.signer.verify(block.data)) {
    return invalid(`${path}: Invalid \`data\` in \`redacted_thinking\` block`);
  }
  return undefined;
}

/**
 * Every tool_use is answered by a tool_result in the very next message, and those results come
 * before anything else in it; every tool_result answers a tool_use of the message before.
 */
function checkToolPairs(messages: ReturnType<typeof messagesOf>, invalid: Invalid) {
  for (const [i, message] of messages.entries()) {
    const blocks = blocksOf(message.content);
    const previous = i > 0 ? blocksOf(messages[i - 1]?.content) : [];
    const asked = new Set(previous.filter((b) => b.type === "tool_use").map((b) => b.id));
    let other = -1;
    for (const [j, block] of blocks.entries()) {
      if (block.type !== "tool_result") {
        if (other < 0) other = j;
        continue;
      }
      if (!asked.has(block.tool_use_id)) {
        return invalid(
          `messages.${i}.content.${j}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
        );
      }
      // Wording ours: Anthropic wants the results first (design brief, rule 24).
      if (other >= 0) {
        return invalid(
          `messages.${i}.content.${j}: \`tool_result\` blocks must come before any other content in the message that answers \`tool_use\` blocks`,
        );
      }
    }
    const ids = blocks.filter((b) => b.type === "tool_use").map((b) => String(b.id));
    if (ids.length === 0 || message.role !== "assistant") continue;
    const next = messages[i + 1];
    const answered = new Set(
      next?.role === "user"
        ? blocksOf(next.content)
            .filter((b) => b.type === "tool_result")
            .map((b) => b.tool_use_id)
        : [],
    );
    const missing = ids.filter((id) => !answered.has(id));
    if (missing.length > 0) {
      return invalid(
        `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(", ")}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
      );
    }
  }
  return undefined;
}

/**
 * With `thinking.type: "enabled"`, a conversation that ends in tool results must have the
 * assistant turn that asked for them start with its thinking block (Anthropic's own message,
 * typo included). `adaptive` does not ask this.
 */
function checkThinkingTurn(
  request: ClaudeRequest,
  messages: ReturnType<typeof messagesOf>,
  invalid: Invalid,
) {
  if (request.thinking?.type !== "enabled") return undefined;
  const last = messages.at(-1);
  if (last?.role !== "user" || !blocksOf(last.content).some((b) => b.type === "tool_result")) {
    return undefined;
  }
  const i = messages.length - 2;
  const first = blocksOf(messages[i]?.content)[0];
  if (first?.type === "thinking" || first?.type === "redacted_thinking") return undefined;
  return invalid(
    `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(first?.type)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks). We recommend you include thinking blocks from previous turns. To avoid this requirement, disable \`thinking\`. Please consult our documentation at ${DOCS}`,
  );
}
