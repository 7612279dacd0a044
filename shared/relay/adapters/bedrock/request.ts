import { signV4 } from "../../../aws/sigv4";
import type { ChannelRecord } from "../../../store/channels";
import { readTopLevel, spliceTopLevel } from "../../json-splice";
import {
  type AdapterContext,
  joinUrl,
  type UpstreamCall,
  type UpstreamHttpRequest,
} from "../adapter";
import { allowedBetas, filterBetas } from "./betas";

/** The version Bedrock's Claude models take in the body (AWS: Anthropic Claude Messages API). */
export const BEDROCK_ANTHROPIC_VERSION = "bedrock-2023-05-31";

const EVENT_STREAM = "application/vnd.amazon.eventstream";
const BILLING_HEADER = "x-anthropic-billing-header:";
const encoder = new TextEncoder();

/**
 * Bedrock's runtime endpoint for the channel: its base URL when it names one (a VPC or FIPS
 * endpoint, the local fixture), else the region's.
 */
export function bedrockEndpoint(channel: ChannelRecord): string {
  return channel.baseUrl || `https://bedrock-runtime.${channel.config.region}.amazonaws.com`;
}

/**
 * A Messages call as InvokeModel (or InvokeModelWithResponseStream when the body says
 * `stream: true`): the model in the path, and the body as Bedrock takes it (bedrockBody).
 */
export function bedrockRequest(
  channel: ChannelRecord,
  call: UpstreamCall,
  context: AdapterContext = {},
): UpstreamHttpRequest {
  const client = bodyBytes(call);
  const stream = readTopLevel(client, "stream", true)?.trim() === "true";
  const body = bedrockBody(client, call.headers?.["anthropic-beta"], channel);
  const operation = stream ? "invoke-with-response-stream" : "invoke";
  return signed(channel, modelPath(call.upstreamModel, operation), body, context, {
    accept: stream ? EVENT_STREAM : "application/json",
  });
}

/** `/model/{id}/{operation}`: ids and ARNs hold `:` and `/`, so the id is encoded. */
export function modelPath(modelId: string, operation: string): string {
  return `/model/${encodeURIComponent(modelId)}/${operation}`;
}

/**
 * The client's Messages body as Bedrock takes it, by top-level splices that keep every other
 * byte: `model` and `stream` out (Bedrock refuses keys it does not know), Bedrock's
 * `anthropic_version` in, the header's betas that the channel allows in `anthropic_beta`, and
 * Claude Code's `x-anthropic-billing-header` system block out (Bedrock refuses it as a
 * reserved keyword: design brief rule 17).
 */
export function bedrockBody(
  client: Uint8Array,
  betaHeader: string | undefined,
  channel: ChannelRecord,
  extra: Record<string, unknown> = {},
): Uint8Array {
  const set: Record<string, unknown> = { ...extra, anthropic_version: BEDROCK_ANTHROPIC_VERSION };
  const { kept } = filterBetas(betaHeader, allowedBetas(channel.config));
  if (kept.length > 0) set.anthropic_beta = kept;
  const system = withoutBillingBlock(readTopLevel(client, "system", true));
  if (system !== undefined) set.system = system;
  return spliceTopLevel(client, { set, remove: ["model", "stream"] }, true);
}

/**
 * The `system` array without the billing block, or undefined when it has none (then the
 * member keeps its bytes). Only then is the array parsed and written again: its other blocks
 * are text and cache marks, which mean the same however they are spelled.
 */
function withoutBillingBlock(raw: string | undefined): unknown[] | undefined {
  if (!raw?.trimStart().startsWith("[") || !raw.includes(BILLING_HEADER)) return undefined;
  const blocks = JSON.parse(raw) as unknown[];
  const kept = blocks.filter(
    (block) =>
      !(
        block &&
        typeof block === "object" &&
        typeof (block as { text?: unknown }).text === "string" &&
        (block as { text: string }).text.startsWith(BILLING_HEADER)
      ),
  );
  return kept.length === blocks.length ? undefined : kept;
}

/**
 * A POST to Bedrock's runtime with the channel's credentials: its Bedrock API key as a bearer
 * token, or else a SigV4 signature (service `bedrock`, the channel's region) with the
 * function role's credentials.
 */
export function signed(
  channel: ChannelRecord,
  path: string,
  body: Uint8Array,
  context: AdapterContext,
  extra: Record<string, string> = {},
): UpstreamHttpRequest {
  const url = joinUrl(bedrockEndpoint(channel), path);
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  if (channel.key) {
    return {
      url,
      method: "POST",
      headers: { ...headers, authorization: `Bearer ${channel.key}` },
      body,
    };
  }
  if (!context.awsCredentials) {
    throw new Error("A Bedrock channel without an API key needs the function's AWS credentials.");
  }
  const all = signV4(
    { method: "POST", url: new URL(url), headers, body },
    {
      service: "bedrock",
      region: channel.config.region ?? "",
      credentials: context.awsCredentials(),
    },
  );
  // The client writes `host` from the URL itself, as signed.
  const { host: _host, ...sent } = all;
  return { url, method: "POST", headers: sent, body };
}

function bodyBytes(call: UpstreamCall): Uint8Array {
  if (call.raw) return call.raw;
  return encoder.encode(JSON.stringify(call.json ?? {}));
}
