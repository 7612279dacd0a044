/**
 * Bedrock answers 400 "invalid beta flag" to a beta it does not serve, where Anthropic's API
 * ignores or serves it (Claude Code sends a long, changing list: design brief rule 15). So the
 * client's `anthropic-beta` header goes into the body's `anthropic_beta` only as far as the
 * channel's allow-list (config `betas`) lets it; the rest are dropped.
 */

/** AWS's documented list (as BerriAI/litellm PR #19875 quotes it): the default allow-list. */
export const BEDROCK_DEFAULT_BETAS: readonly string[] = [
  "interleaved-thinking-2025-05-14",
  "context-1m-2025-08-07",
  "context-management-2025-06-27",
  "effort-2025-11-24",
  "tool-search-tool-2025-10-19",
  "tool-examples-2025-10-29",
  "token-efficient-tools-2025-02-19",
  "output-128k-2025-02-19",
  "computer-use-*",
];

/** The one beta kept when Bedrock still refuses the filtered list (sent again once). */
export const FALLBACK_BETA = "interleaved-thinking-2025-05-14";

/**
 * A channel's allow-list: its config `betas` (a comma list; a trailing `*` matches any
 * suffix; `none` allows none), or AWS's list when it names none.
 */
export function allowedBetas(config: Readonly<Record<string, string>>): readonly string[] {
  const listed = config.betas?.trim();
  if (!listed) return BEDROCK_DEFAULT_BETAS;
  if (listed === "none") return [];
  return listed
    .split(",")
    .map((beta) => beta.trim())
    .filter(Boolean);
}

/** The header's betas split into those the allow-list keeps and those it drops. */
export function filterBetas(
  header: string | undefined,
  allowed: readonly string[],
): { kept: string[]; dropped: string[] } {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const beta of (header ?? "").split(",").map((b) => b.trim())) {
    if (!beta || kept.includes(beta) || dropped.includes(beta)) continue;
    (allowed.some((rule) => matches(rule, beta)) ? kept : dropped).push(beta);
  }
  return { kept, dropped };
}

function matches(rule: string, beta: string): boolean {
  return rule.endsWith("*") ? beta.startsWith(rule.slice(0, -1)) : rule === beta;
}
