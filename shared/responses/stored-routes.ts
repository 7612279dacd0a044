import type { KeyPrincipal } from "../auth/authenticate";
import { InvalidRequest, Unavailable, UpstreamRejected } from "../errors";
import { isObject } from "../http/body";
import { eventStream, json, rawJson } from "../http/responses";
import { type Call, keyRoute } from "../http/route";
import type { GatewayResponse } from "../http/types";
import { adapterFor } from "../relay/adapters/index";
import { spliceTopLevel } from "../relay/json-splice";
import { parseJsonObject } from "../relay/relay";
import type { StoredResponse } from "../store/stored-responses";
import { itemsPage, pageParams } from "./input-items";
import { holderUnavailable, noSuchResponse, ownResponse } from "./stored";

/*
 * The stored-response routes: the caller's own responses only (another user's id, an unknown
 * one and an expired one are the same 404, before any upstream is asked). A response passed
 * through to a Responses-native channel is asked of that channel, with its key, and its answer
 * passed on; a bridged one is answered from sluice's store.
 */

/** GET /v1/responses/{id} (`?stream=true&starting_after=N` resumes a background stream). */
export const retrieveResponse = keyRoute("GET", "/v1/responses/:id", async (call) => {
  const record = await ownResponse(call, call.params.id as string);
  if (record.kind === "native") return askHolder(call, record, "GET", "");
  if (call.request.query.get("stream") === "true")
    throw new InvalidRequest(
      "Only a response created with background: true can be streamed again.",
      "stream",
    );
  const content = await call.services.storedResponses.content(record);
  if (!content) throw noSuchResponse(record.id);
  return json(200, content.response);
});

/** DELETE /v1/responses/{id}: the upstream's copy (native) and sluice's record. */
export const deleteResponse = keyRoute("DELETE", "/v1/responses/:id", async (call) => {
  const record = await ownResponse(call, call.params.id as string);
  const { storedResponses } = call.services;
  if (record.kind === "native") {
    let answer: GatewayResponse | undefined;
    try {
      answer = await askHolder(call, record, "DELETE", "");
    } catch (err) {
      // An upstream that no longer has it (404) or a channel that is gone: nothing to delete
      // there; anything else (unreachable, 5xx) keeps the record, so the delete can be retried.
      if (!gone(err)) throw err;
    }
    await storedResponses.delete(record);
    return answer ?? json(200, deleted(record.id));
  }
  await storedResponses.delete(record);
  return json(200, deleted(record.id));
});

/** POST /v1/responses/{id}/cancel: only a background response can be (OpenAI: 400 otherwise). */
export const cancelResponse = keyRoute("POST", "/v1/responses/:id/cancel", async (call) => {
  const record = await ownResponse(call, call.params.id as string);
  if (record.kind === "native") return askHolder(call, record, "POST", "/cancel");
  throw new InvalidRequest(
    "Only a response created with background: true can be cancelled.",
    "response_id",
  );
});

/** GET /v1/responses/{id}/input_items: a cursor page (after, before, limit 1-100, order). */
export const listInputItems = keyRoute("GET", "/v1/responses/:id/input_items", async (call) => {
  const record = await ownResponse(call, call.params.id as string);
  const page = pageParams(call.request.query);
  if (record.kind === "native") return askHolder(call, record, "GET", "/input_items");
  const content = await call.services.storedResponses.content(record);
  if (!content) throw noSuchResponse(record.id);
  return json(200, itemsPage(content.input, page));
});

const deleted = (id: string) => ({ id, object: "response", deleted: true });

/** What tells DELETE that there is nothing left upstream to delete. */
function gone(err: unknown): boolean {
  if (err instanceof UpstreamRejected) return err.details.status === 404;
  return err instanceof Unavailable;
}

/**
 * The holding channel's answer to `method /responses/{id}{sub}` (the client's query string
 * passed on), with the channel's key. An upstream that no longer has the response is OpenAI's
 * 404; its refusals (400) reach the client as they came; a failure of the channel's own (its
 * key refused, a 5xx, no answer) is sluice's 502, never the upstream's 401.
 */
async function askHolder(
  call: Call<KeyPrincipal>,
  record: StoredResponse,
  method: "GET" | "DELETE" | "POST",
  sub: string,
): Promise<GatewayResponse> {
  const { services } = call;
  // The directory's cache has it while it serves the model; else the channel is read (it holds
  // the response whatever models it serves now), and must be enabled.
  const channel =
    (await services.channelDirectory.candidates(record.model)).find(
      (candidate) => candidate.id === record.channelId,
    ) ?? (await services.channels.get(record.channelId));
  if (channel?.status !== "enabled") throw holderUnavailable(record);
  // The channel's adapter says where its Responses API is and how its key goes (OpenAI's
  // /responses and Bearer; Azure's /openai/v1/responses and api-key).
  const http = adapterFor(channel.type).request(
    channel,
    {
      path: `/responses/${encodeURIComponent(record.id)}${sub}`,
      model: record.model,
      upstreamModel: record.upstreamModel,
      json: {},
    },
    services.adapterContext,
  );
  const query = call.request.query.toString();
  const url = query ? `${http.url}${http.url.includes("?") ? "&" : "?"}${query}` : http.url;
  const streamed = method === "GET" && call.request.query.get("stream") === "true";
  const { "content-type": _json, ...headers } = http.headers;
  if (method === "POST") headers["content-type"] = "application/json";
  let response: Awaited<ReturnType<typeof services.fetch>>;
  try {
    response = await services.fetch(url, {
      method,
      headers,
      ...(method === "POST" && { body: "{}" }),
      signal: streamed
        ? call.request.signal
        : AbortSignal.timeout(services.settings.upstreamIdleTimeoutMs),
    });
  } catch {
    throw new UpstreamRejected("unreachable", "The channel holding this response did not answer.");
  }
  if (response.ok && streamed && response.body) return eventStream(response.body);
  const bytes = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
  if (response.status === 404) {
    throw new UpstreamRejected("client_error", noSuchResponse(record.id).message, {
      status: 404,
      param: "response_id",
    });
  }
  if (response.status === 400 || response.status === 409 || response.status === 422) {
    const body = parseJsonObject(bytes);
    const error = body && isObject(body.error) ? body.error : {};
    throw new UpstreamRejected(
      "client_error",
      typeof error.message === "string" ? error.message : `The upstream refused the ${method}.`,
      {
        status: response.status,
        type: typeof error.type === "string" ? error.type : null,
        code: typeof error.code === "string" ? error.code : null,
        param: typeof error.param === "string" ? error.param : null,
      },
    );
  }
  if (!response.ok)
    throw new UpstreamRejected(
      "unreachable",
      `The channel holding this response answered ${response.status}.`,
    );
  // The Response names the model the client asked for, as the create call's answer did.
  const answer = parseJsonObject(bytes);
  if (
    answer?.object === "response" &&
    typeof answer.model === "string" &&
    record.model !== answer.model &&
    record.upstreamModel !== record.model
  )
    return rawJson(200, spliceTopLevel(bytes, { set: { model: record.model } }));
  return rawJson(response.status, bytes);
}
