import { userRoute } from "../http/route";
import { msg } from "../messages/codes";
import type { FullCounter } from "../store/attempts";
import { notFound, ok, requireAdmin } from "./envelope";

/**
 * GET /api/lock (admin): the attempt counters at their limit right now (README, Sign-in and
 * sessions): a (username, address) locked out of signing in, an address or a username
 * slowed, registrations or redemptions refused. Soonest to end first.
 */
export const listLocks = userRoute("GET", "/api/lock", async (call) => {
  requireAdmin(call);
  const counters = await call.services.attemptCounters.listFull(call.services.clock.now());
  return ok(counters.map(lockView));
});

/** DELETE /api/lock/{id} (admin): lifts one, its count back to nothing. */
export const clearLock = userRoute("DELETE", "/api/lock/:id", async (call) => {
  requireAdmin(call);
  if (!(await call.services.attemptCounters.clear(call.params.id as string)))
    throw notFound(msg("lock_not_found"));
  return ok();
});

function lockView(counter: FullCounter) {
  return {
    id: counter.id,
    kind: counter.kind,
    username: counter.username ?? null,
    address: counter.address ?? null,
    user_id: counter.userId ?? null,
    failures: counter.attempts,
    limit: counter.limit,
    until: Math.ceil(counter.until / 1000),
  };
}
