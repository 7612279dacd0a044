import type { UserPrincipal } from "../auth/authenticate";
import { newId } from "../auth/secrets";
import { readJsonObject } from "../http/body";
import { json } from "../http/responses";
import { alias, type Call, userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { definedOnly } from "../objects";
import { adapterFor, supportedChannelTypes, upstreamModelFor } from "../relay/adapters/index";
import { type ChannelRecord, type ChannelStatus, newChannelRecord } from "../store/channels";
import { field, invalid, notFound, ok, page, requireAdmin } from "./envelope";
import { channelView } from "./views";

const STATUSES: readonly ChannelStatus[] = ["enabled", "disabled"];

/** GET /api/channel/ (admin) */
export const listChannels = userRoute("GET", "/api/channel", async (call) => {
  requireAdmin(call);
  const channels = (await call.services.channels.list()).sort(
    (a, b) => b.priority - a.priority || a.createdAt - b.createdAt,
  );
  const pairs = await call.services.channelHealth.current();
  const gaps = await call.services.protocolGaps.current();
  return ok(
    page(channels, call.request.query).map((channel) => channelView(channel, pairs, gaps)),
    { total: channels.length },
  );
});

/** POST /api/channel/ (admin) */
export const createChannel = userRoute("POST", "/api/channel", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  const fields = channelFields(body, true);
  const channel = newChannelRecord(
    {
      id: newId("ch_", 12),
      ...definedOnly(fields),
      baseUrl: fields.baseUrl ?? "",
      models: fields.models as string[],
    },
    call.services.clock.seconds(),
  );
  checkChannel(channel);
  await call.services.channels.put(channel);
  call.services.channelDirectory.invalidate();
  return ok(channelView(channel));
});

/** GET /api/channel/{id} (admin) */
export const getChannel = userRoute("GET", "/api/channel/:id", async (call) => {
  requireAdmin(call);
  const channel = await existing(call, call.params.id as string);
  const { channelHealth, protocolGaps } = call.services;
  return ok(channelView(channel, await channelHealth.current(), await protocolGaps.current()));
});

/** PUT /api/channel/{id} (admin), or PUT /api/channel/ with the id in the body. */
export const updateChannel = userRoute("PUT", "/api/channel/:id", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  const id = call.params.id ?? field.string(body, "id", { required: true });
  const current = await existing(call, id as string);
  const fields = definedOnly(channelFields(body, false));
  const next: ChannelRecord = { ...current, ...fields };
  checkChannel(next);
  // Enabling a channel by hand clears the reason sluice disabled it for, and the health of
  // its models (cool-downs, open circuits, models disabled for a refused key).
  if (fields.status === "enabled") {
    next.disabledReason = null;
    next.disabledAt = null;
    await call.services.channelHealth.clearChannel(next.id);
  } else if (fields.status === "disabled" && current.status === "enabled") {
    next.disabledAt = call.services.clock.now();
  }
  await call.services.channels.put(next);
  // Its host, key or settings may have changed: what it serves is found out again.
  await call.services.protocolGaps.clearChannel(next.id);
  call.services.channelDirectory.invalidate();
  return ok(channelView(next));
});
export const updateChannelByBody = alias(updateChannel, "/api/channel");

/** DELETE /api/channel/{id} (admin) */
export const deleteChannel = userRoute("DELETE", "/api/channel/:id", async (call) => {
  requireAdmin(call);
  if (!(await call.services.channels.delete(call.params.id as string)))
    throw notFound(msg("channel_not_found"));
  await call.services.channelHealth.clearChannel(call.params.id as string);
  await call.services.protocolGaps.clearChannel(call.params.id as string);
  call.services.channelDirectory.invalidate();
  return ok();
});

async function existing(call: Call<UserPrincipal>, id: string): Promise<ChannelRecord> {
  const channel = await call.services.channels.get(id);
  if (!channel) throw notFound(msg("channel_not_found"));
  return channel;
}

/** What the channel's type needs: a base URL (Bedrock's comes from its region), its config. */
function checkChannel(channel: ChannelRecord): void {
  if (!channel.baseUrl && channel.type !== "bedrock") {
    throw invalid(msg("base_url_required"));
  }
  const problem = adapterFor(channel.type).configProblem?.(channel.config);
  if (problem) throw invalid(problem);
}

function channelFields(body: Record<string, unknown>, creating: boolean) {
  const type = field.oneOf(body, "type", supportedChannelTypes());
  // Optional only for Bedrock, whose endpoint follows from its region (checkChannel).
  const baseUrl = field.string(body, "base_url", {
    required: creating && type !== "bedrock",
  });
  if (baseUrl && !/^https?:\/\/[^\s/]+/.test(baseUrl)) {
    throw invalid(msg("base_url_invalid"));
  }
  const models = field.stringList(body, "models");
  if ((creating || models !== undefined) && (!models || models.length === 0)) {
    throw invalid(msg("channel_models_required"));
  }
  const weight = field.number(body, "weight", { min: 0 });
  const config = field.stringMap(body, "config");
  // Sent as Anthropic's `anthropic-version` header when a client names none: a date.
  const version = config?.anthropic_version;
  if (version !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(version)) {
    throw invalid(msg("anthropic_version_invalid"));
  }
  return {
    type,
    name: field.string(body, "name", { max: 128 }),
    baseUrl,
    key: field.string(body, "key"),
    models: models ?? undefined,
    modelMapping: field.stringMap(body, "model_mapping"),
    priority: field.integer(body, "priority"),
    weight,
    status: field.oneOf(body, "status", STATUSES),
    config,
  };
}

/**
 * POST /api/channel/{id}/test (admin): one tiny real call to the channel, its adapter's test
 * call (a one-token chat completion, or a short speech for Azure Speech), outside billing.
 * Reports the status and latency; enabling a channel stays a deliberate PUT.
 */
export const testChannel = userRoute("POST", "/api/channel/:id/test", async (call) => {
  requireAdmin(call);
  const channel = await existing(call, call.params.id as string);
  const model = call.request.query.get("model") ?? channel.models[0] ?? "";
  const adapter = adapterFor(channel.type);
  const http = adapter.request(
    channel,
    adapter.testCall(model, upstreamModelFor(channel, model)),
    call.services.adapterContext,
  );
  const started = performance.now();
  let status = 0;
  let message = "";
  try {
    const response = await call.services.fetch(http.url, {
      method: http.method,
      headers: http.headers,
      body: http.body,
      signal: AbortSignal.timeout(call.services.settings.upstreamTimeoutMs),
    });
    status = response.status;
    const text = await response.text();
    if (!response.ok) message = `HTTP ${status}: ${text.slice(0, 300)}`;
  } catch (err) {
    message = `could not reach ${new URL(http.url).origin}: ${err instanceof Error ? err.message : String(err)}`;
  }
  const data = { model, status, latency_ms: Math.round(performance.now() - started) };
  return json(200, { success: message === "", message, data });
});
