/** Token usage as OpenAI reports it (`CompletionUsage`). */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  [detail: string]: unknown;
}

export function isUsage(value: unknown): value is Usage {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return typeof v.prompt_tokens === "number" && typeof v.completion_tokens === "number";
}
