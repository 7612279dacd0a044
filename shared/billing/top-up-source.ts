/**
 * Where a top-up came from, as a customer's log shows it. A top-up's `reference` is the
 * ledger's once-guard (`signup:<user id>`, `redeem:<code id>`, `order:<order id>`, an admin's
 * own text or the request's id) and stays internal: customers see this kind instead, and the
 * id of an order (its public number), never a code's, a user's or a request's id.
 */
export type TopUpSourceKind = "trial" | "redemption" | "admin" | "order" | "checkin" | "invitation";

export interface TopUpSource {
  kind: TopUpSourceKind;
  /** A public id the customer knows (an order's); absent for the others. */
  id?: string;
}

/**
 * The references' prefixes and what they mean. A stream that tops up with a reference of its
 * own adds its prefix here; anything unlisted was an admin's top-up (POST /api/user/:id/topup,
 * whose reference is the admin's text or the request id).
 */
const PREFIXES: readonly (readonly [string, TopUpSourceKind])[] = [
  // The trial credit offered at sign-up (management/trial-credit.ts).
  ["signup:", "trial"],
  ["redeem:", "redemption"],
  // stream c-pay: paid orders (payments/credit.ts); the order id is the customer's number.
  ["order:", "order"],
  // Daily check-in; an invitation's rewards, the inviter's and the invitee's welcome
  // (growth/first-paid.ts).
  ["checkin:", "checkin"],
  ["invite:", "invitation"],
  ["invite-welcome:", "invitation"],
];

/** Order ids are public (the customer's order page shows them); this much is enough to find one. */
const ORDER_ID_SHOWN = 8;

export function topUpSource(reference: string | undefined): TopUpSource {
  for (const [prefix, kind] of PREFIXES) {
    if (!reference?.startsWith(prefix)) continue;
    if (kind !== "order") return { kind };
    return { kind, id: reference.slice(prefix.length, prefix.length + ORDER_ID_SHOWN) };
  }
  return { kind: "admin" };
}
