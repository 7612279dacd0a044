import { type ChannelAdapter, encodeBody, joinUrl } from "./adapter";

export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

/**
 * Azure OpenAI: the deployment goes in the path, the version in the query and the key in an
 * `api-key` header. `baseUrl` is the resource endpoint (https://<name>.openai.azure.com).
 * Without a mapping the deployment is the model name without dots (gpt-35-turbo for
 * gpt-3.5-turbo), Azure's own naming.
 */
export const azureAdapter: ChannelAdapter = {
  serves: (path) =>
    [
      "/chat/completions",
      "/completions",
      "/embeddings",
      "/images/generations",
      "/audio/transcriptions",
      "/audio/translations",
      "/audio/speech",
    ].includes(path),
  defaultUpstreamModel: (model) => model.replaceAll(".", ""),
  request(channel, call) {
    const deployment = call.upstreamModel;
    const version = channel.config.api_version ?? AZURE_DEFAULT_API_VERSION;
    const { headers, body } = encodeBody(call);
    if (channel.key) headers["api-key"] = channel.key;
    const path = `/openai/deployments/${encodeURIComponent(deployment)}${call.path}`;
    return {
      url: `${joinUrl(channel.baseUrl, path)}?api-version=${encodeURIComponent(version)}`,
      method: "POST",
      headers,
      body,
    };
  },
};
