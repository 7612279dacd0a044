import type { ChannelRecord } from "../../../store/channels";
import { encodeBody, joinUrl, type UpstreamCall, type UpstreamHttpRequest } from "../adapter";

/** The Messages API version sent when neither the client nor the channel names one. */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/**
 * Anthropic's API below `/v1`: a base URL given as `https://api.anthropic.com` or with `/v1`
 * reaches the same paths.
 */
export function anthropicUrl(channel: ChannelRecord, path: string): string {
  const base = channel.baseUrl.replace(/\/+$/, "");
  return joinUrl(/\/v1$/.test(base) ? base : `${base}/v1`, path);
}

/**
 * The version the request is spoken in: the client's own (Claude Code and the SDKs always
 * send one), else the channel's configured default, else 2023-06-01.
 */
function versionOf(channel: ChannelRecord, call: UpstreamCall): string {
  return (
    call.headers?.["anthropic-version"] ??
    channel.config.anthropic_version ??
    DEFAULT_ANTHROPIC_VERSION
  );
}

/**
 * The call POSTed below `/v1` with the channel's key as `x-api-key` (never the client's), the
 * version, and the client's `anthropic-beta` list unchanged: the body is the client's bytes as
 * they came (`raw`, top-level edits spliced in) or a bridge's JSON.
 */
export function anthropicRequest(channel: ChannelRecord, call: UpstreamCall): UpstreamHttpRequest {
  const { headers, body } = encodeBody(call);
  headers["anthropic-version"] = versionOf(channel, call);
  const beta = call.headers?.["anthropic-beta"];
  if (beta) headers["anthropic-beta"] = beta;
  if (channel.key) headers["x-api-key"] = channel.key;
  return { url: anthropicUrl(channel, call.path), method: "POST", headers, body };
}
