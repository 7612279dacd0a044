import { randomBytes } from "node:crypto";
import type { KeyPrincipal } from "../auth/authenticate";
import { ModelUnavailable, QuotaExceeded, RateLimited } from "../errors";
import type { UsageLog } from "../store/usage";

/**
 * Why a key's call was refused, as its owner's usage log says: the balance, the key's own
 * quota, a rate limit, or a model the key cannot use (not allowed to it, not served, not
 * priced). A call with a wrong key is refused too, but names no account: it is not logged.
 */
export type RefusalReason =
  | "insufficient_quota"
  | "key_quota"
  | "rate_limit_exceeded"
  | "model_not_available";

export function refusalReason(err: unknown): RefusalReason | undefined {
  if (err instanceof QuotaExceeded) return err.scope === "key" ? "key_quota" : "insufficient_quota";
  if (err instanceof RateLimited) return "rate_limit_exceeded";
  if (err instanceof ModelUnavailable && err.reason !== "resting") return "model_not_available";
  return undefined;
}

/** One key's refusals of one reason in one minute, on this instance. */
interface Tally {
  minute: number;
  count: number;
  /** How many of them a line holds already. */
  written: number;
  line: { userId: string; keyId: string; keyName: string; model?: string; status: number };
  requestId: string;
}

/**
 * Refused calls in the usage log, without letting a flood of them multiply writes: each is
 * counted here, in memory, per key, reason and minute, and a key's first refusal of a minute
 * (on this instance) writes its line after the response, with the count so far. Later
 * refusals of that minute only count; their count is added to the minute's line by the write
 * of the key's next refusal, in a later minute. So a key refused without end costs at most two
 * writes a minute per instance (its new minute's line, and the last one's remainder) however
 * many calls it sends, and a refused call still writes nothing while it is answered. The line
 * of the minute a key was refused last may miss what came after its write until the key is
 * refused again here (an instance that stops loses that remainder).
 */
export class RefusalLines {
  private readonly tallies = new Map<string, Tally>();
  /** Lines of different instances for the same key and minute are different lines. */
  private readonly instance = randomBytes(4).toString("hex");

  constructor(
    private readonly usage: UsageLog,
    private readonly now: () => number,
  ) {}

  /**
   * Counts a refused call; returns the write to run after its response when it opens a minute
   * for its key and reason, or undefined when the call is only counted.
   */
  count(
    principal: KeyPrincipal,
    refusal: { reason: RefusalReason; status: number; model?: string; requestId: string },
  ): (() => Promise<void>) | undefined {
    const minute = Math.floor(this.now() / 60_000) * 60_000;
    const id = `${principal.key.id}\0${refusal.reason}`;
    const last = this.tallies.get(id);
    if (last?.minute === minute) {
      last.count++;
      return undefined;
    }
    const tally: Tally = {
      minute,
      count: 1,
      written: 0,
      line: {
        userId: principal.user.id,
        keyId: principal.key.id,
        keyName: principal.key.name,
        model: refusal.model,
        status: refusal.status,
      },
      requestId: refusal.requestId,
    };
    this.tallies.set(id, tally);
    return async () => {
      if (last) await this.write(last, refusal.reason);
      await this.write(tally, refusal.reason);
    };
  }

  private async write(tally: Tally, reason: RefusalReason): Promise<void> {
    const count = tally.count - tally.written;
    if (count <= 0) return;
    // Taken before the write, so a write running meanwhile adds only what comes after.
    tally.written = tally.count;
    try {
      await this.usage.addRefused(
        {
          type: "refused",
          id: `r${tally.minute}-${tally.line.keyId}-${reason}-${this.instance}`,
          time: tally.minute,
          requestId: tally.requestId,
          ...tally.line,
          promptTokens: 0,
          completionTokens: 0,
          quota: 0,
          requests: 0,
          reason,
        },
        count,
      );
    } catch (err) {
      tally.written -= count;
      throw err;
    }
  }
}
