import type { Settings } from "../config/settings";

/**
 * How long a call may wait, once its request is written, for its answer to begin: a stream's
 * first token, or a non-streamed answer's headers (which come when it is complete). The
 * operator's per-model timeout (SLUICE_UPSTREAM_MODEL_TIMEOUTS) for the upstream's model name,
 * else for the name the client asked for, an exact name before the longest matching prefix;
 * else the timeout of streams or of whole answers.
 */
export function answerTimeoutMs(
  settings: Pick<
    Settings,
    "upstreamTimeoutMs" | "upstreamFirstTokenTimeoutMs" | "upstreamModelTimeoutsMs"
  >,
  models: { upstream: string; client: string },
  stream: boolean,
): number {
  const timeouts = settings.upstreamModelTimeoutsMs;
  for (const model of [models.upstream, models.client]) {
    const exact = timeouts[model];
    if (exact !== undefined) return exact;
    let best: { length: number; ms: number } | undefined;
    for (const [name, ms] of Object.entries(timeouts)) {
      if (!name.endsWith("*")) continue;
      const prefix = name.slice(0, -1);
      if (model.startsWith(prefix) && prefix.length >= (best?.length ?? 0))
        best = { length: prefix.length, ms };
    }
    if (best) return best.ms;
  }
  return stream ? settings.upstreamFirstTokenTimeoutMs : settings.upstreamTimeoutMs;
}
