import { UpstreamRejected } from "../errors";
import { rawJson } from "../http/responses";
import { anthropicRoute } from "../http/route";
import { spliceTopLevel } from "../relay/json-splice";
import { channelsForModel, readUpstreamBody } from "../relay/relay";
import { openUpstream } from "../relay/upstream";
import { forwardedHeaders, readMessagesRequest, sessionOf } from "./request";

/**
 * POST /v1/messages/count_tokens: forwarded to an Anthropic channel that serves the model
 * (the same headers and body bytes as a message, `model` spliced when mapped), its answer
 * relayed. It generates nothing and is never held or billed. Without such a channel the
 * answer is 404 `not_found_error`: Claude Code then counts locally (its gateway docs), which
 * is never worse than a wrong count. (Bedrock's count is its own endpoint: the bedrock
 * channel's; counting for chat channels is the Messages→chat bridge's step.)
 */
export const countMessageTokens = anthropicRoute(
  "POST",
  "/v1/messages/count_tokens",
  async (call) => {
    const { raw, body, model } = readMessagesRequest(call.request, false);
    const served = await channelsForModel(call, model, "/messages", {
      affinity: sessionOf(call.request, body),
    });
    const candidates = served.filter((channel) => channel.type === "anthropic");
    if (candidates.length === 0) {
      throw new UpstreamRejected(
        "client_error",
        `Token counting is not available for the model \`${model}\` here.`,
        { status: 404, type: "not_found_error" },
      );
    }
    const { settings } = call.services;
    const headers = forwardedHeaders(call.request);
    const upstream = await openUpstream(
      candidates,
      (upstreamModel) => ({
        path: "/messages/count_tokens",
        model,
        upstreamModel,
        raw: upstreamModel === model ? raw : spliceTopLevel(raw, { set: { model: upstreamModel } }),
        headers,
      }),
      model,
      {
        fetch: call.services.fetch,
        connectTimeoutMs: settings.upstreamConnectTimeoutMs,
        headerTimeoutMs: () => settings.upstreamTimeoutMs,
        retries: settings.upstreamRetries,
        timing: call.timing,
        signal: call.request.signal,
      },
    );
    if (upstream.late) {
      upstream.abort();
      throw new UpstreamRejected("unreachable", "The upstream provider did not answer in time.");
    }
    call.context.note?.({ model, channel: upstream.channel.id });
    return rawJson(200, await readUpstreamBody(call, upstream));
  },
);
