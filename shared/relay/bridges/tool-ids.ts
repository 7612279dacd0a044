/**
 * Tool-call ids as Anthropic accepts them (DESIGN-20 rule 13). Anthropic requires
 * `^[a-zA-Z0-9_-]+$`; Kimi and DeepSeek hosts emit ids like `functions.Bash:0`, and once such a
 * history reaches an Anthropic channel it answers 400. The rewrite is deterministic, so the same
 * function applied to `tool_use.id` and to `tool_result.tool_use_id` keeps the pairs matched, and
 * chat upstreams take the rewritten ids back as they are.
 */
import { createHash, randomBytes } from "node:crypto";

const VALID = /^[a-zA-Z0-9_-]+$/;

/**
 * `id` unchanged when Anthropic accepts it; otherwise its invalid characters as `_`, then `_` and
 * 6 hex characters of sha256(id), so two ids that differ only in invalid characters never
 * collide. An absent or empty id (some hosts send none) gets a fresh `toolu_` id.
 */
export function anthropicToolId(id: unknown): string {
  if (typeof id !== "string" || id === "") return `toolu_${randomBytes(12).toString("hex")}`;
  if (VALID.test(id)) return id;
  const hash = createHash("sha256").update(id).digest("hex").slice(0, 6);
  return `${id.replace(/[^a-zA-Z0-9_-]/g, "_")}_${hash}`;
}
