import type { ChannelRecord } from "../../../store/channels";
import { encodeBody, joinUrl, type UpstreamCall, type UpstreamHttpRequest } from "../adapter";

/** The call as it is, POSTed below the base URL, with the channel's key as a bearer token. */
export function openAiRequest(channel: ChannelRecord, call: UpstreamCall): UpstreamHttpRequest {
  const { headers, body } = encodeBody(call);
  if (channel.key) headers.authorization = `Bearer ${channel.key}`;
  return { url: joinUrl(channel.baseUrl, call.path), method: "POST", headers, body };
}
