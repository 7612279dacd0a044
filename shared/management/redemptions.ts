import { randomString } from "../auth/secrets";
import { dollarsToUnits, UNITS_PER_USD, unitsToDollars } from "../billing/units";
import { Conflict } from "../errors";
import { readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { msg } from "../messages/codes";
import type { Services } from "../services";
import { type Redemption, redemptionId } from "../store/redemptions";
import { field, invalid, notFound, ok, pageSize, requireAdmin } from "./envelope";

/** Codes made at once at most, and the most one code may be worth ($10,000). */
const MAX_CODES = 500;
/** A code: 32 letters and digits (every code sluice has made). */
const CODE_LENGTH = 32;
const CODE_SHAPE = /^[A-Za-z0-9]{32}$/;
const MAX_CODE_UNITS = 10_000 * UNITS_PER_USD;

/**
 * POST /api/redemption/ (admin): `count` codes of one amount and bucket (paid or bonus),
 * named for the admin's lists. The codes are in this answer only: sluice keeps their hashes.
 */
export const createRedemptions = userRoute("POST", "/api/redemption", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  const name = field.string(body, "name", { required: true, max: 64 }) as string;
  const count = field.integer(body, "count", { min: 1, max: MAX_CODES }) ?? 1;
  const bucket = field.oneOf(body, "bucket", ["paid", "bonus"] as const) ?? "paid";
  const quota = field.integer(body, "quota", { min: 1, max: MAX_CODE_UNITS });
  const dollars = field.number(body, "dollars", { min: 0, max: MAX_CODE_UNITS / UNITS_PER_USD });
  const units = quota ?? (dollars !== undefined ? dollarsToUnits(dollars) : undefined);
  if (!units || units <= 0) throw invalid(msg("redemption_quota_required"));
  const now = call.services.clock.seconds();
  const codes = Array.from({ length: count }, () => randomString(CODE_LENGTH));
  const created = await Promise.all(
    codes.map((code) =>
      call.services.redemptions.create(code, {
        name,
        quota: units,
        bucket,
        createdAt: now,
        createdBy: call.principal.user.id,
      }),
    ),
  );
  return ok({ codes, redemptions: created.map(redemptionView) });
});

/** Whether `code` has a code's shape: anything else is refused without a lookup or a write. */
export const isRedemptionCode = (code: string) => CODE_SHAPE.test(code);

/**
 * Redeems `code` for `userId` and tops up its quota (POST /api/user/topup, and a registration
 * by invitation). A code taken, or already redeemed by this user, is a 409.
 */
export async function redeemCode(
  services: Services,
  userId: string,
  code: string,
  requestId: string,
) {
  const used = await services.redemptions.redeem(
    redemptionId(code),
    userId,
    services.clock.seconds(),
  );
  if (used === "taken") throw new Conflict(msg("redemption_code_used"));
  // The top-up's reference is the code's: a redemption that stopped before it ends with it here.
  const outcome = await services.ledger.topUp(userId, {
    reference: `redeem:${used.id}`,
    bucket: used.bucket,
    units: used.quota,
    by: userId,
    requestId,
  });
  services.auth.forgetAll();
  // Its quota was added by an earlier redemption of this user's: nothing is added again.
  if (outcome === "duplicate") throw new Conflict(msg("redemption_already_redeemed"));
  return used;
}

/** GET /api/redemption/?keyword=&size= (admin): newest first; the codes are never shown again. */
export const listRedemptions = userRoute("GET", "/api/redemption", async (call) => {
  requireAdmin(call);
  const keyword = call.request.query.get("keyword")?.trim().toLowerCase() ?? "";
  const { codes, hasMore } = await call.services.redemptions.list(
    pageSize(call.request.query, 50, 500),
    (code) => !keyword || code.name.toLowerCase().includes(keyword) || code.id.startsWith(keyword),
  );
  return ok(codes.map(redemptionView), { has_more: hasMore });
});

/** PUT /api/redemption/{id} (admin): enable or disable a code that has not been used. */
export const updateRedemption = userRoute("PUT", "/api/redemption/:id", async (call) => {
  requireAdmin(call);
  const body = readJsonObject(call.request);
  const status = field.oneOf(body, "status", ["enabled", "disabled"] as const);
  if (!status) throw invalid(msg("redemption_status_invalid"));
  const updated = await call.services.redemptions.setStatus(call.params.id as string, status);
  if (!updated) throw notFound(msg("unused_redemption_code_not_found"));
  return ok(redemptionView(updated));
});

/** DELETE /api/redemption/{id} (admin) */
export const deleteRedemption = userRoute("DELETE", "/api/redemption/:id", async (call) => {
  requireAdmin(call);
  if (!(await call.services.redemptions.delete(call.params.id as string)))
    throw notFound(msg("redemption_code_not_found"));
  return ok();
});

function redemptionView(code: Redemption) {
  return {
    id: code.id,
    name: code.name,
    status: code.status,
    quota: code.quota,
    quota_dollar: unitsToDollars(code.quota),
    bucket: code.bucket,
    created_at: code.createdAt,
    created_by: code.createdBy,
    used_by: code.usedBy ?? null,
    used_at: code.usedAt ?? null,
  };
}
