import type { UserPrincipal } from "../auth/authenticate";
import { createKey } from "../bootstrap";
import { Forbidden } from "../errors";
import { readJsonObject } from "../http/body";
import { alias, type Call, userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { definedOnly } from "../objects";
import { type ApiKeyRecord, type ApiKeyStatus, KeyCapReached } from "../store/api-keys";
import { ConditionFailed } from "../store/table";
import { reauthenticateSession } from "./admin-reauthentication";
import { field, invalid, notFound, ok, page, requireAdmin } from "./envelope";
import { rateLimitOverrides } from "./rate-limits";
import { tokenView } from "./views";

/** Users set these; expired and exhausted follow from expiry and quota. */
const SETTABLE_STATUSES: readonly ApiKeyStatus[] = ["enabled", "disabled"];

/**
 * GET /api/token/: the caller's own keys, newest first, masked, paged; an admin may name
 * another user's (`user_id`).
 */
export const listTokens = userRoute("GET", "/api/token", async (call) => {
  const keys = await call.services.apiKeys.listByUser(
    await keysOwner(call, call.request.query.get("user_id") ?? undefined),
  );
  return ok(
    page(keys, call.request.query).map((key) => tokenView(key)),
    { total: keys.length },
  );
});

/**
 * POST /api/token/: a new key; the only answer that ever shows it in full. Admins may name
 * another user (`user_id`) to hand them a key: from a console session, after proving who they
 * are (`current_password`, or a recent sign-in). Refused with 403 past the operator's cap on
 * keys per user (SLUICE_MAX_KEYS_PER_USER).
 */
export const createToken = userRoute("POST", "/api/token", async (call) => {
  const body = readJsonObject(call.request);
  const fields = editableFields(call, body);
  const userId = await keysOwner(call, field.string(body, "user_id"));
  if (userId !== call.principal.user.id) await reauthenticateSession(call, body);
  const { maxKeys } = call.services.settings.users;
  try {
    const { key, secret } = await createKey(
      call.services,
      {
        ...definedOnly(fields),
        userId,
        name: fields.name ?? "",
        // A key with a quota is limited unless said otherwise; one without is unlimited.
        unlimitedQuota: fields.unlimitedQuota ?? fields.remainQuota === undefined,
      },
      maxKeys,
    );
    return ok(tokenView(key, secret));
  } catch (err) {
    if (err instanceof KeyCapReached) {
      throw new Forbidden(msg("too_many_keys", { max: maxKeys }));
    }
    throw err;
  }
});

/** GET /api/token/{id} */
export const getToken = userRoute("GET", "/api/token/:id", async (call) => {
  return ok(tokenView(await ownKey(call, call.params.id as string)));
});

/** PUT /api/token/{id}, or PUT /api/token/ with the id in the body (one-api's form). */
export const updateToken = userRoute("PUT", "/api/token/:id", async (call) => {
  const body = readJsonObject(call.request);
  const id = call.params.id ?? field.string(body, "id", { required: true });
  const current = await ownKey(call, id as string);
  const fields = editableFields(call, body);
  const next = { ...current, ...definedOnly(fields) };
  // A key that got quota or time back is usable again.
  if (
    fields.status === undefined &&
    (current.status === "exhausted" || current.status === "expired")
  ) {
    const hasQuota = next.unlimitedQuota || next.remainQuota > 0;
    const inTime = next.expiredTime === -1 || next.expiredTime > call.services.clock.seconds();
    if (hasQuota && inTime) fields.status = "enabled";
  }
  try {
    const updated = await call.services.apiKeys.update(current.id, current.userId, fields);
    call.services.auth.forgetKey(current.id);
    return ok(tokenView(updated));
  } catch (err) {
    if (err instanceof ConditionFailed) throw notFound(msg("key_not_found"));
    throw err;
  }
});
export const updateTokenByBody = alias(updateToken, "/api/token");

/** DELETE /api/token/{id} */
export const deleteToken = userRoute("DELETE", "/api/token/:id", async (call) => {
  const id = call.params.id as string;
  const current = await ownKey(call, id);
  try {
    await call.services.apiKeys.delete(id, current.userId);
  } catch (err) {
    if (err instanceof ConditionFailed) throw notFound(msg("key_not_found"));
    throw err;
  }
  call.services.auth.forgetKey(id);
  return ok();
});

/**
 * A key the caller may manage: their own, or any user's for an admin. Someone else's key is
 * reported to a user exactly like a missing one.
 */
async function ownKey(call: Call<UserPrincipal>, id: string): Promise<ApiKeyRecord> {
  const key = await call.services.apiKeys.get(id, true);
  const { user } = call.principal;
  if (!key || (key.userId !== user.id && user.role !== "admin"))
    throw notFound(msg("key_not_found"));
  return key;
}

/** Whose keys a call is about: the caller's, or (admins only) the named user's. */
async function keysOwner(call: Call<UserPrincipal>, userId: string | undefined): Promise<string> {
  if (userId === undefined || userId === call.principal.user.id) return call.principal.user.id;
  requireAdmin(call);
  if (!(await call.services.users.get(userId))) throw notFound(msg("user_not_found"));
  return userId;
}

function editableFields(call: Call<UserPrincipal>, body: Record<string, unknown>) {
  const expiredTime = field.integer(body, "expired_time", { min: -1 });
  if (
    expiredTime !== undefined &&
    expiredTime !== -1 &&
    expiredTime <= call.services.clock.seconds()
  ) {
    throw invalid(msg("key_expiry_in_past"));
  }
  return {
    name: field.string(body, "name", { max: 64 }),
    status: field.oneOf(body, "status", SETTABLE_STATUSES),
    remainQuota: field.integer(body, "remain_quota", { min: 0 }),
    unlimitedQuota: field.boolean(body, "unlimited_quota"),
    expiredTime,
    models: field.stringList(body, "models"),
    rateLimits: keyRateLimits(call, body),
  };
}

/** `rate_limits`: the key's overrides of its group's limits (see rateLimitOverrides). */
function keyRateLimits(call: Call<UserPrincipal>, body: Record<string, unknown>) {
  if (body.rate_limits === undefined) return undefined;
  requireAdmin(call);
  return rateLimitOverrides(body.rate_limits);
}
