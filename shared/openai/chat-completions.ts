import { isObject, readJsonObject, requireString } from "../http/body";
import { upstreamFailed } from "../http/errors";
import { eventStream, rawJson } from "../http/responses";
import { keyRoute } from "../http/route";
import { channelsForModel, upstreamOptions } from "../relay/route-model";
import { openUpstream } from "../relay/upstream";
import { CompletionStreamRelay } from "../stream/completion-stream";
import { relaySse } from "../stream/relay-stream";

/** POST /v1/chat/completions, plain and streamed. */
export const createChatCompletion = keyRoute("POST", "/v1/chat/completions", async (call) => {
  const body = readJsonObject(call.request);
  const model = requireString(body, "model");
  const stream = body.stream === true;
  const clientWantsUsage =
    stream && isObject(body.stream_options) && body.stream_options.include_usage === true;
  const candidates = await channelsForModel(call, model);

  const upstream = await openUpstream(
    candidates,
    (upstreamModel) => ({
      path: "/chat/completions",
      upstreamModel,
      contentType: "application/json",
      body: JSON.stringify({
        ...body,
        model: upstreamModel,
        // Usage is always requested so that streams can be billed exactly.
        ...(stream && {
          stream_options: {
            ...(isObject(body.stream_options) ? body.stream_options : {}),
            include_usage: true,
          },
        }),
      }),
    }),
    model,
    upstreamOptions(call),
  );
  const reportModel = upstream.upstreamModel === model ? undefined : model;

  if (stream) {
    const relay = new CompletionStreamRelay({
      kind: "chat",
      reportModel,
      stripUsage: !clientWantsUsage,
    });
    const source = upstream.response.body;
    if (!source) throw upstreamFailed();
    return eventStream(relaySse(source, relay, upstream.abort));
  }

  const bytes = new Uint8Array(await call.timing.upstream(upstream.response.arrayBuffer()));
  if (!reportModel) return rawJson(200, bytes);
  const completion = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  completion.model = reportModel;
  return rawJson(200, JSON.stringify(completion));
});
