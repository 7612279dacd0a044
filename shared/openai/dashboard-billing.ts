import type { KeyPrincipal } from "../auth/authenticate";
import { UNITS_PER_USD } from "../billing/units";
import { Unauthenticated } from "../errors";
import { json } from "../http/responses";
import { alias, type Call, keyRoute } from "../http/route";

/**
 * The balance endpoints chat clients (ChatGPT-Next-Web and kin) call with an `sk-` key. As
 * in one-api: a limited key shows its own allowance, an unlimited key its user's balance, and
 * hard_limit_usd − total_usage/100 is what is left.
 */
async function allowance(
  call: Call<KeyPrincipal>,
): Promise<{ limitUnits: number; usedUnits: number }> {
  // Read afresh: the principal comes from the auth cache, and balances move every call.
  const [key, user] = await Promise.all([
    call.services.apiKeys.get(call.principal.key.id, true),
    call.services.users.get(call.principal.user.id, true),
  ]);
  if (!key || !user) throw new Unauthenticated("The API key no longer exists.", "invalid_api_key");
  if (!key.unlimitedQuota)
    return { limitUnits: key.remainQuota + key.usedQuota, usedUnits: key.usedQuota };
  const { balances, used } = user.account;
  return { limitUnits: balances.total + used, usedUnits: used };
}

/** GET /v1/dashboard/billing/subscription */
export const getBillingSubscription = keyRoute(
  "GET",
  "/v1/dashboard/billing/subscription",
  async (call) => {
    const limitUsd = (await allowance(call)).limitUnits / UNITS_PER_USD;
    const { key } = call.principal;
    return json(200, {
      object: "billing_subscription",
      has_payment_method: true,
      soft_limit_usd: limitUsd,
      hard_limit_usd: limitUsd,
      system_hard_limit_usd: limitUsd,
      access_until: key.expiredTime === -1 ? 0 : key.expiredTime,
    });
  },
);

/** GET /v1/dashboard/billing/usage: `total_usage` in US cents. */
export const getBillingUsage = keyRoute("GET", "/v1/dashboard/billing/usage", async (call) => {
  const { usedUnits } = await allowance(call);
  // One division, so the cents come out as short as they are (no 0.1 + 0.2 noise).
  return json(200, { object: "list", total_usage: usedUnits / (UNITS_PER_USD / 100) });
});

/** The same two without /v1, as some clients call them. */
export const getBillingSubscriptionShort = alias(
  getBillingSubscription,
  "/dashboard/billing/subscription",
);
export const getBillingUsageShort = alias(getBillingUsage, "/dashboard/billing/usage");
