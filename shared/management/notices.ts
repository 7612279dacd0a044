import { dollarsToUnits } from "../billing/units";
import { Forbidden } from "../errors";
import { readJsonObject } from "../http/body";
import { userRoute } from "../http/route";
import { msg } from "../messages/codes";
import { field, invalid, ok } from "./envelope";
import { userView } from "./views";

/** The most a threshold may be ($1,000,000): any real balance alert is far below. */
const MAX_ALERT_USD = 1_000_000;

/**
 * PUT /api/user/low_balance_alert {usd} (stream e-mail, issue 22 §6.5): mail me when my balance
 * falls below `usd` ($; null: never). The usage rollups check it off the request path
 * (functions/usage-rollup/low-balance.ts); setting it re-arms the notice. It is mailed, so it
 * needs a verified address.
 */
export const setLowBalanceAlert = userRoute("PUT", "/api/user/low_balance_alert", async (call) => {
  const { services, principal } = call;
  const body = readJsonObject(call.request);
  const usd =
    body.usd === null ? null : field.number(body, "usd", { min: 0.01, max: MAX_ALERT_USD });
  if (usd === undefined) throw invalid(msg("field_required", { field: "usd" }));
  const user = (await services.users.get(principal.user.id, true)) ?? principal.user;
  if (usd !== null && !(user.emailVerified && user.email))
    throw new Forbidden(msg("low_balance_alert_needs_email"));
  await services.users.setLowBalanceAlert(user.id, usd === null ? null : dollarsToUnits(usd));
  services.auth.forgetAll();
  const after = await services.users.get(user.id, true);
  return ok(after && userView(after));
});
