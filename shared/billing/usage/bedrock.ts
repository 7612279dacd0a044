/**
 * Amazon Bedrock's own usage shapes (its InvokeModel bodies are the model provider's, e.g.
 * Anthropic's, read by that provider's reader). In both, the input count EXCLUDES cache reads
 * and writes, as Anthropic's does.
 */
import type { Metered } from "../metered";
import { carve, count, fieldOf, metered, objectOf, sum } from "./read";

const METRICS = "amazon-bedrock-invocationMetrics";

/**
 * The kinds of Bedrock's `amazon-bedrock-invocationMetrics` (given as the metrics object or as
 * the event that carries it, InvokeModelWithResponseStream's last chunk), or undefined when it
 * has neither inputTokenCount nor outputTokenCount. Cache writes are all 5-minute ones: the
 * metrics carry no TTL split (the Anthropic events of the same stream do, in message_start).
 */
export function fromBedrockInvocationMetrics(value: unknown): Metered | undefined {
  const outer = objectOf(value);
  const m = objectOf(fieldOf(outer, METRICS)) ?? outer;
  const input = count(m, "inputTokenCount");
  const output = count(m, "outputTokenCount");
  if (input === undefined && output === undefined) return undefined;
  return metered({
    inputTokens: input,
    cachedInputTokens: count(m, "cacheReadInputTokenCount"),
    cacheWriteTokens: count(m, "cacheWriteInputTokenCount"),
    outputTokens: output,
  });
}

/**
 * The kinds of the Converse API's `TokenUsage` (Converse's `usage`, ConverseStream's
 * `metadata.usage`), or undefined when it has neither inputTokens nor outputTokens. Cache
 * writes are cacheWriteInputTokens, split by the `cacheDetails` entries whose ttl is "1h";
 * the rest are 5-minute writes.
 */
export function fromConverseUsage(usage: unknown): Metered | undefined {
  const u = objectOf(usage);
  const input = count(u, "inputTokens");
  const output = count(u, "outputTokens");
  if (input === undefined && output === undefined) return undefined;
  const details = fieldOf(u, "cacheDetails");
  const entries = (Array.isArray(details) ? details : []).map(objectOf);
  const writtenWith = (ttl: string) =>
    sum(
      ...entries
        .filter((entry) => fieldOf(entry, "ttl") === ttl)
        .map((entry) => count(entry, "inputTokens")),
    );
  const written = count(u, "cacheWriteInputTokens") ?? sum(writtenWith("1h"), writtenWith("5m"));
  const [writtenForAnHour, writtenFor5Minutes] = carve(written, [writtenWith("1h")]);
  return metered({
    inputTokens: input,
    cachedInputTokens: count(u, "cacheReadInputTokens"),
    cacheWriteTokens: writtenFor5Minutes,
    cacheWrite1hTokens: writtenForAnHour,
    outputTokens: output,
  });
}
