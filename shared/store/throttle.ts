import { hashSecret } from "../auth/secrets";
import { ConditionFailed, type Table } from "./table";

/** How sign-ins are slowed and then locked out after failures. */
export interface ThrottlePolicy {
  /** Failures after which each further attempt must wait, doubling from `backoffMs`. */
  slowAfter: number;
  backoffMs: number;
  /** Failures after which the name or address is locked out for `lockSeconds`. */
  lockAfter: number;
  lockSeconds: number;
  /** The thresholds for an address (`ip:` subjects), which many people may share. */
  addressSlowAfter: number;
  addressLockAfter: number;
}

/** Failures are forgotten this long after the last one. */
const WINDOW_SECONDS = 3_600;

interface Failures {
  failures: number;
  /** Unix milliseconds of the last failure. */
  last: number;
}

/**
 * Failed sign-ins, counted per attempted username and per address (neither needs to exist),
 * so that guessing slows down and then stops for a while. Refusing an attempt too early
 * costs one read and no wait (a Lambda waiting would be billed for it).
 */
export class LoginThrottle {
  constructor(
    private readonly table: Table,
    private readonly policy: ThrottlePolicy,
  ) {}

  /** Milliseconds to wait before another attempt is allowed for any of `subjects` (0: now). */
  async waitMs(subjects: string[], now = Date.now()): Promise<number> {
    const records = await Promise.all(
      subjects.map((subject) => this.table.get<Failures>(throttleKey(subject), true)),
    );
    return Math.max(
      0,
      ...records.map((record, i) =>
        record ? this.waitFor(record, now, subjects[i]?.startsWith("ip:") ?? false) : 0,
      ),
    );
  }

  /** Counts a failure against each subject. */
  async failed(subjects: string[], now = Date.now()): Promise<void> {
    await Promise.all(
      subjects.map((subject) =>
        this.table
          .update(throttleKey(subject), {
            // A failure after a quiet hour starts the count again.
            update:
              "SET failures = if_not_exists(failures, :zero) + :one, #last = :now, #ttl = :ttl",
            condition: "attribute_not_exists(#last) OR #last >= :recent",
            names: { "#last": "last", "#ttl": "ttl" },
            values: {
              ":zero": 0,
              ":one": 1,
              ":now": now,
              ":recent": now - WINDOW_SECONDS * 1000,
              ":ttl": Math.floor(now / 1000) + WINDOW_SECONDS + this.policy.lockSeconds,
            },
          })
          .catch((err) => {
            if (!(err instanceof ConditionFailed)) throw err;
            return this.table.put({
              ...throttleKey(subject),
              failures: 1,
              last: now,
              ttl: Math.floor(now / 1000) + WINDOW_SECONDS + this.policy.lockSeconds,
            });
          }),
      ),
    );
  }

  /** A successful sign-in clears the username's count (the address's stays). */
  async succeeded(subject: string): Promise<void> {
    await this.table.delete(throttleKey(subject));
  }

  private waitFor({ failures, last }: Failures, now: number, address: boolean): number {
    const { backoffMs, lockSeconds } = this.policy;
    const slowAfter = address ? this.policy.addressSlowAfter : this.policy.slowAfter;
    const lockAfter = address ? this.policy.addressLockAfter : this.policy.lockAfter;
    if (now - last > WINDOW_SECONDS * 1000) return 0;
    if (failures >= lockAfter) return Math.max(0, last + lockSeconds * 1000 - now);
    if (failures < slowAfter) return 0;
    const wait = Math.min(backoffMs * 2 ** (failures - slowAfter), 60_000);
    return Math.max(0, last + wait - now);
  }
}

const throttleKey = (subject: string) => ({
  pk: `THROTTLE#${hashSecret(subject)}`,
  sk: "THROTTLE",
});
