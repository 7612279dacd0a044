import { type ChannelAdapter, encodeBody, joinUrl } from "./adapter";

/** Any OpenAI-compatible API: OpenAI itself, or a relay, vLLM, Ollama, … at `baseUrl`. */
export const openaiAdapter: ChannelAdapter = {
  serves: () => true,
  request(channel, call) {
    const { headers, body } = encodeBody(call);
    if (channel.key) headers.authorization = `Bearer ${channel.key}`;
    return { url: joinUrl(channel.baseUrl, call.path), method: "POST", headers, body };
  },
};
