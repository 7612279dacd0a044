import type { KeyPrincipal } from "../auth/authenticate";
import type { RateStanding } from "../errors";
import type { Call } from "../http/route";
import { rateLimitsOf } from "./charge";

/**
 * A call that generates nothing and is never billed or logged (a token count), but is a
 * request: it counts against the key's and the user's rate limits by a hold of nothing, taken
 * now (a call over a limit is refused here, before any upstream is asked) and given back
 * after the response. Returns the rate standing, for the response's rate-limit headers.
 */
export async function holdUnbilled(
  call: Call<KeyPrincipal>,
  model: string,
): Promise<RateStanding | undefined> {
  const { ledger } = call.services;
  const hold = await ledger.hold(call.principal, {
    requestId: call.request.id,
    units: 0,
    model,
    limits: await rateLimitsOf({
      services: call.services,
      principal: call.principal,
      requestId: call.request.id,
      receivedAt: call.request.receivedAt,
    }),
  });
  call.context.afterResponse(() => ledger.release(hold));
  return hold.rateStanding;
}
