import { hashPassword } from "../auth/passwords";
import { newId } from "../auth/secrets";
import { dollarsToUnits, UNITS_PER_USD, unitsToDollars } from "../billing/units";
import { Conflict } from "../errors";
import { readJsonObject } from "../http/body";
import { json } from "../http/responses";
import { alias, userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { AccountMissing } from "../store/accounts";
import { BUCKETS } from "../store/buckets";
import { ConditionFailed } from "../store/table";
import { newUserProfile, type Role, UsernameTaken, type UserStatus } from "../store/users";
import { reauthenticateSession } from "./admin-reauthentication";
import {
  field,
  invalid,
  newPassword,
  notFound,
  ok,
  page,
  requireAdmin,
  saying,
  utcDateTime,
} from "./envelope";
import { rateLimitOverrides } from "./rate-limits";
import { grantTrialCredit } from "./trial-credit";
import { keyStatus, keysToReview, userView } from "./views";

const ROLES: readonly Role[] = ["user", "admin"];
/** $1,000,000 at once at most: more is a typo (and beyond what counters are exact for). */
const MAX_TOP_UP_UNITS = 1_000_000 * UNITS_PER_USD;
const STATUSES: readonly UserStatus[] = ["enabled", "disabled"];
/** The name of the access token a new user is made with (they may revoke it in Settings). */
const ADMIN_ISSUED_TOKEN = "initial";

/**
 * GET /api/user/stat: the seed's exact shape (no envelope). Times are UTC
 * `YYYY-MM-DD HH:mm:ss` or "never"; every quota has a `_dollar` twin.
 */
export const getStat = userRoute("GET", "/api/user/stat", async (call) => {
  // Balances read afresh: the principal may come from the cache.
  const [user, keys] = await Promise.all([
    call.services.users.get(call.principal.user.id).then((found) => found ?? call.principal.user),
    call.services.apiKeys.listByUser(call.principal.user.id),
  ]);
  const view = userView(user);
  return json(200, {
    token: keys.map((key) => ({
      key: key.masked,
      status: keyStatus(key),
      name: key.name,
      created_time: utcDateTime(key.createdTime),
      accessed_time: utcDateTime(key.accessedTime),
      expired_time: key.expiredTime === -1 ? "never" : utcDateTime(key.expiredTime),
      remain_quota: key.remainQuota,
      remain_quota_dollar: unitsToDollars(key.remainQuota),
      unlimited_quota: key.unlimitedQuota,
      used_quota: key.usedQuota,
      used_quota_dollar: unitsToDollars(key.usedQuota),
    })),
    user: {
      free_quota: view.free_quota,
      free_quota_dollar: unitsToDollars(view.free_quota),
      bonus_quota: view.bonus_quota,
      bonus_quota_dollar: unitsToDollars(view.bonus_quota),
      paid_quota: view.paid_quota,
      paid_quota_dollar: unitsToDollars(view.paid_quota),
      total_quota: view.total_quota,
      total_quota_dollar: unitsToDollars(view.total_quota),
      used_quota: view.used_quota,
      used_quota_dollar: unitsToDollars(view.used_quota),
      request_count: view.request_count,
    },
  });
});

/**
 * GET /api/user/?keyword=&trial= (admin): every user, or those whose id, username or name holds
 * the keyword (and whose trial credit is `pending` or `granted`), paged.
 */
export const listUsers = userRoute("GET", "/api/user", async (call) => {
  requireAdmin(call);
  const keyword = call.request.query.get("keyword")?.trim().toLowerCase() ?? "";
  const users = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const batch = await call.services.users.list(100, startKey);
    users.push(...batch.items);
    startKey = batch.lastKey;
  } while (startKey);
  // ?trial=pending: the accounts whose trial credit waits for an admin's approval.
  const trial = call.request.query.get("trial");
  const found = users.filter(
    (user) =>
      (!keyword ||
        [user.id, user.username, user.name, user.email ?? ""].some((text) =>
          text.toLowerCase().includes(keyword),
        )) &&
      (!trial || user.trial?.state === trial) &&
      user.deletedAt === undefined,
  );
  found.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
  return ok(page(found, call.request.query).map(userView), { total: found.length });
});

/**
 * POST /api/user/ (admin): a new user, with their access token shown once, and a password to
 * sign in to the console with when given. From a console session, the admin proves who they
 * are first (`current_password`, or a recent sign-in: admin-reauthentication.ts).
 */
export const createUser = userRoute("POST", "/api/user", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  // one-api's scripts send `username`.
  const username = field.string(body, body.username === undefined ? "name" : "username", {
    required: true,
    max: 64,
  }) as string;
  const password = body.password === undefined ? undefined : newPassword(body, "password");
  const user = newUserProfile(
    {
      id: newId("user_", 16),
      username,
      name: field.string(body, "name", { max: 64 }) ?? username,
      ...(password
        ? {
            passwordHash: await hashPassword(password, call.services.settings.console.passwordCost),
          }
        : {}),
      role: field.oneOf(body, "role", ROLES) ?? "user",
      group: field.string(body, "group", { max: 64 }) ?? "default",
      status: field.oneOf(body, "status", STATUSES) ?? "enabled",
    },
    call.services.clock.seconds(),
  );
  await reauthenticateSession(call, body);
  const accessToken = await call.services.tags.issue("accessToken");
  try {
    await call.services.users.create(user, {
      secret: accessToken,
      name: ADMIN_ISSUED_TOKEN,
      via: "admin",
    });
  } catch (err) {
    if (err instanceof UsernameTaken) throw new Conflict(msg("username_taken"));
    throw err;
  }
  const created = await call.services.users.get(user.id, true);
  if (!created) throw new Error(`user ${user.id} was not created`);
  return ok({ ...userView(created), access_token: accessToken });
});

/** GET /api/user/{id} (admin) */
export const getUser = userRoute("GET", "/api/user/:id", async (call) => {
  requireAdmin(call);
  const user = await call.services.users.get(call.params.id as string, true);
  if (!user) throw notFound(msg("user_not_found"));
  return ok(userView(user));
});

/**
 * PUT /api/user/{id} (admin), or PUT /api/user/ with the id in the body (one-api's form):
 * status, group, role, name, `rate_limits` (overrides of the group's per-user limits, as a
 * key's); `password` resets it, ends the user's sessions and revokes every access token of theirs
 * (they sign in with the new password and make new ones: the admin is never handed a credential of
 * theirs); the answer lists their `keys_to_review`. An admin's own password is changed in
 * Settings, with the current one. From a console session, a reset or making someone an admin
 * needs the admin's proof first (`current_password`, or a recent sign-in).
 */
export const updateUser = userRoute("PUT", "/api/user/:id", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  const id = call.params.id ?? field.string(body, "id", { required: true });
  const fields = {
    status: field.oneOf(body, "status", STATUSES),
    group: field.string(body, "group", { max: 64 }),
    role: field.oneOf(body, "role", ROLES),
    name: field.string(body, "name", { max: 64 }),
    rateLimits: body.rate_limits === undefined ? undefined : rateLimitOverrides(body.rate_limits),
  };
  if (id === call.principal.user.id && (fields.role === "user" || fields.status === "disabled")) {
    throw invalid(msg("cannot_demote_self"));
  }
  const password = body.password === undefined ? undefined : newPassword(body, "password");
  if (password && id === call.principal.user.id) {
    throw invalid(msg("own_password_in_settings"));
  }
  // A reset, or making an admin of someone who is not one, makes a credential: the caller's
  // session proves who it is first. The user as they were says which (and, for a reset, since
  // when their keys are to be reviewed).
  const before =
    password || fields.role === "admin"
      ? await call.services.users.get(id as string, true)
      : undefined;
  if ((password || fields.role === "admin") && !before) throw notFound(msg("user_not_found"));
  if (password || (fields.role === "admin" && before?.role !== "admin"))
    await reauthenticateSession(call, body);
  try {
    if (password) {
      const passwordHash = await hashPassword(
        password,
        call.services.settings.console.passwordCost,
      );
      const changed = await call.services.users.changeCredentials(id as string, { passwordHash });
      call.services.auth.credentialsChanged(id as string, changed);
    }
    const user = await call.services.users.update(id as string, fields);
    call.services.auth.forgetAll();
    if (!password || !before) return ok(userView(user));
    const keys = await call.services.apiKeys.listByUser(user.id);
    return ok(
      { ...userView(user), ...REVOKED, keys_to_review: keysToReview(before, keys) },
      saying(msg("password_reset_done")),
    );
  } catch (err) {
    if (err instanceof ConditionFailed) throw notFound(msg("user_not_found"));
    throw err;
  }
});
export const updateUserByBody = alias(updateUser, "/api/user");

/** What the answers of a reset and a revocation say was done (every token, despite the name). */
const REVOKED = { sessions_ended: true, access_token_revoked: true } as const;

/**
 * POST /api/user/{id}/revoke (admin): ends every session of the user and revokes all their
 * system access tokens, on this instance at once and on the others within SLUICE_CACHE_TTL_MS. Their
 * `sk-` keys are left alone (disable or delete them apart: their apps use them); the answer
 * lists those made since the password was last set (`keys_to_review`).
 */
export const revokeUserCredentials = userRoute("POST", "/api/user/:id/revoke", async (call) => {
  requireAdmin(call);
  const id = call.params.id as string;
  try {
    const changed = await call.services.users.changeCredentials(id, {});
    call.services.auth.credentialsChanged(id, changed);
  } catch (err) {
    if (err instanceof ConditionFailed) throw notFound(msg("user_not_found"));
    throw err;
  }
  const [user, keys] = await Promise.all([
    call.services.users.get(id, true),
    call.services.apiKeys.listByUser(id),
  ]);
  if (!user) throw notFound(msg("user_not_found"));
  return ok(
    { ...userView(user), ...REVOKED, keys_to_review: keysToReview(user, keys) },
    saying(msg("sessions_ended")),
  );
});

/**
 * DELETE /api/user/{id} (admin; one-api's route): a soft delete. The user is disabled for
 * good, every session ends, their access token is revoked and their username is free to
 * register again; their account (balance), keys and usage log are kept, so the money trail
 * still names them, and GET /api/user/{id} still shows them (`deleted_at`). They are left out
 * of the users list. A second delete is a 404, as for a user who never was.
 */
export const deleteUser = userRoute("DELETE", "/api/user/:id", async (call) => {
  requireAdmin(call);
  const id = call.params.id as string;
  if (id === call.principal.user.id) throw invalid(msg("cannot_delete_self"));
  const user = await call.services.users.get(id, true);
  if (!user || user.deletedAt !== undefined) throw notFound(msg("user_not_found"));
  try {
    await call.services.users.markDeleted(id, user.username, call.services.clock.seconds());
  } catch (err) {
    if (err instanceof ConditionFailed) throw notFound(msg("user_not_found"));
    throw err;
  }
  // Disabled first, so nothing signs in between; then every credential of theirs ends.
  const changed = await call.services.users.changeCredentials(id, {});
  call.services.auth.credentialsChanged(id, changed);
  call.services.auth.forgetAll();
  const deleted = await call.services.users.get(id, true);
  if (!deleted) throw notFound(msg("user_not_found"));
  return ok({ ...userView(deleted), ...REVOKED });
});

/**
 * POST /api/user/{id}/topup (admin): adds quota to the free, bonus or paid bucket, given in
 * units (`quota`) or dollars (`dollars`), logged in the user's usage log. With a `reference`
 * (an order number, a payment id) it happens once however often it is sent.
 */
export const topUpUser = userRoute("POST", "/api/user/:id/topup", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  const bucket = field.oneOf(body, "bucket", BUCKETS) ?? "paid";
  const quota = field.integer(body, "quota", { min: 1, max: MAX_TOP_UP_UNITS });
  const dollars = field.number(body, "dollars", { min: 0, max: MAX_TOP_UP_UNITS / UNITS_PER_USD });
  const reference = field.string(body, "reference", { max: 128 });
  const units = quota ?? (dollars !== undefined ? dollarsToUnits(dollars) : undefined);
  if (units === undefined || units <= 0) throw invalid(msg("top_up_quota_required"));
  const id = call.params.id as string;
  let outcome: "applied" | "duplicate";
  try {
    outcome = await call.services.ledger.topUp(id, {
      reference: reference ?? call.request.id,
      bucket,
      units,
      by: call.principal.user.id,
      requestId: call.request.id,
    });
  } catch (err) {
    if (err instanceof AccountMissing) throw notFound(msg("user_not_found"));
    throw err;
  }
  const user = await call.services.users.get(id, true);
  if (!user) throw notFound(msg("user_not_found"));
  call.services.auth.forgetAll();
  return ok(userView(user), { duplicate: outcome === "duplicate" });
});

/**
 * POST /api/user/{id}/approve (admin): grants the account's pending trial credit, once: a
 * second approval, or two at once, add nothing more (`duplicate: true`).
 */
export const approveTrial = userRoute("POST", "/api/user/:id/approve", async (call) => {
  requireAdmin(call);
  const id = call.params.id as string;
  const user = await call.services.users.get(id, true);
  if (!user) throw notFound(msg("user_not_found"));
  if (!user.trial) throw new Conflict(msg("no_trial_offered"));
  const outcome = await grantTrialCredit(
    call.services,
    id,
    user.trial,
    call.principal.user.id,
    call.request.id,
  );
  const granted = await call.services.users.get(id, true);
  if (!granted) throw notFound(msg("user_not_found"));
  return ok(userView(granted), { duplicate: outcome === "duplicate" });
});
