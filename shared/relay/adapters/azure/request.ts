import type { ChannelRecord } from "../../../store/channels";
import { encodeBody, joinUrl, type UpstreamCall, type UpstreamHttpRequest } from "../adapter";

export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

/**
 * Azure OpenAI: the deployment goes in the path, the version in the query and the key in an
 * `api-key` header. `baseUrl` is the resource endpoint (https://<name>.openai.azure.com).
 * The Responses API is on Azure's v1 API instead (`/openai/v1/responses`, no api-version), as
 * at OpenAI: the deployment is the body's `model`, which the relay has already set.
 */
export function azureRequest(channel: ChannelRecord, call: UpstreamCall): UpstreamHttpRequest {
  const deployment = call.upstreamModel;
  const version = channel.config.api_version ?? AZURE_DEFAULT_API_VERSION;
  const { headers, body } = encodeBody(call);
  if (channel.key) headers["api-key"] = channel.key;
  if (call.path === "/responses" || call.path.startsWith("/responses/")) {
    return {
      url: joinUrl(channel.baseUrl, `/openai/v1${call.path}`),
      method: "POST",
      headers,
      body,
    };
  }
  const path = `/openai/deployments/${encodeURIComponent(deployment)}${call.path}`;
  return {
    url: `${joinUrl(channel.baseUrl, path)}?api-version=${encodeURIComponent(version)}`,
    method: "POST",
    headers,
    body,
  };
}
