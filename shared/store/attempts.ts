import { hashSecret } from "../auth/secrets";
import { ATTEMPTS_PREFIX, attemptCounterKey as counterKey, INDEX, TTL } from "./keys";
import { ConditionFailed, type Item, type Table } from "./table";

/**
 * What is counted: sign-ins per (username, address), per username, per address and per IPv6
 * /48 (`-network`), and so on.
 */
export type AttemptKind =
  | "sign-in"
  | "sign-in-username"
  | "sign-in-address"
  | "sign-in-network"
  | "registration-address"
  | "registration-address-day"
  | "registration-network"
  | "registration-site"
  | "redemption-user"
  | "redemption-address"
  // Stream e-mail (issue 22 E): codes and reset links asked for, per address mailed and sender.
  | "mail-email"
  | "mail-email-minute"
  | "mail-address"
  | "mail-network";

/** Whom a counter counts (the admin's list shows these). */
export interface AttemptSubject {
  username?: string;
  address?: string;
  userId?: string;
}

/** One counter: `limit` attempts are admitted in a window of `windowMs` from its first. */
export interface CounterSpec {
  kind: AttemptKind;
  subject: AttemptSubject;
  limit: number;
  windowMs: number;
}

/** An attempt counted in a window; giving it back takes it out of that window only. */
export interface Taken {
  spec: CounterSpec;
  /** Start of the window the attempt was counted in. */
  start: number;
}

export type Take =
  | { admitted: true; taken: Taken; trustedUntil?: number }
  | { admitted: false; retryAfterMs: number; trustedUntil?: number };

/** The counters the attempt guard writes (an in-memory one stands in for it in unit tests). */
export interface CounterStore {
  /** Counts an attempt, unless the window's limit is reached. */
  take(spec: CounterSpec, now: number): Promise<Take>;
  /** Takes a counted attempt back out (it succeeded, or another counter refused it). */
  giveBack(taken: Taken): Promise<void>;
  /** Gives a successful attempt back and remembers its subject as trusted until `until`. */
  trust(taken: Taken, until: number): Promise<void>;
}

/** A counter at its limit, for the admin's list. */
export interface FullCounter extends AttemptSubject {
  id: string;
  kind: AttemptKind;
  attempts: number;
  limit: number;
  /** Unix milliseconds when its window ends and attempts are admitted again. */
  until: number;
}

interface CounterItem extends AttemptSubject {
  kind: AttemptKind;
  n: number;
  start: number;
  limit: number;
  windowMs: number;
  trustedUntil?: number;
}

/** Tries of a take that keeps meeting another's window reset. */
const MAX_TRIES = 4;

export const counterId = (spec: Pick<CounterSpec, "kind" | "subject">) =>
  hashSecret(
    [spec.kind, spec.subject.username, spec.subject.address, spec.subject.userId].join("\n"),
  ).slice(0, 32);

/**
 * Attempt counters in the table, one item per subject, each moved by one conditional write:
 * an attempt is counted only while its window's count is under the limit, so attempts that
 * arrive together cannot all pass (DynamoDB applies the writes to one item one at a time).
 * A window starts with the first attempt after the last one ended. A counter that reaches
 * its limit is listed in `gsi1` (one more write, once per window) for the admin.
 */
export class AttemptCounters implements CounterStore {
  constructor(private readonly table: Table) {}

  async take(spec: CounterSpec, now: number): Promise<Take> {
    const id = counterId(spec);
    for (let tries = 1; ; tries++) {
      try {
        const item = (await this.table.update<CounterItem>(counterKey(id), {
          ...expressions(
            `SET #n = if_not_exists(#n, :zero) + :one, #start = if_not_exists(#start, :now), #ttl = if_not_exists(#ttl, :ttl), ${describe(spec)}`,
            "attribute_not_exists(#n) OR (#start > :windowAgo AND #n < :limit)",
          ),
          values: {
            ...describeValues(spec),
            ":zero": 0,
            ":one": 1,
            ":now": now,
            ":windowAgo": now - spec.windowMs,
            ":ttl": TTL.attempts(now + spec.windowMs),
          },
          returnValues: "ALL_NEW",
          explainFailure: true,
        })) as CounterItem;
        if (item.n >= spec.limit) await this.markFull(id, item);
        return {
          admitted: true,
          taken: { spec, start: item.start },
          trustedUntil: item.trustedUntil,
        };
      } catch (err) {
        if (!(err instanceof ConditionFailed)) throw err;
        const old = err.item as CounterItem | undefined;
        if (!old) throw err;
        const ends = old.start + spec.windowMs;
        if (ends > now) {
          return { admitted: false, retryAfterMs: ends - now, trustedUntil: old.trustedUntil };
        }
        // The window ended: this attempt starts the next, unless another attempt did first.
        const started = await this.restart(id, spec, old, now);
        if (started) return { admitted: true, taken: started, trustedUntil: old.trustedUntil };
        if (tries === MAX_TRIES) throw err;
      }
    }
  }

  async giveBack(taken: Taken): Promise<void> {
    try {
      await this.table.update(counterKey(counterId(taken.spec)), {
        ...expressions("SET #n = #n - :one", "#start = :start AND #n > :zero"),
        values: { ":one": 1, ":zero": 0, ":start": taken.start },
      });
    } catch (err) {
      // A window that has ended since holds nothing of this attempt.
      if (!(err instanceof ConditionFailed)) throw err;
    }
  }

  async trust(taken: Taken, until: number): Promise<void> {
    const key = counterKey(counterId(taken.spec));
    const values = { ":until": until, ":ttl": TTL.attempts(until + taken.spec.windowMs) };
    try {
      await this.table.update(key, {
        ...expressions(
          "SET #n = #n - :one, #trustedUntil = :until, #ttl = :ttl",
          "#start = :start AND #n > :zero",
        ),
        values: { ...values, ":one": 1, ":zero": 0, ":start": taken.start },
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      await this.table.update(key, {
        ...expressions("SET #trustedUntil = :until, #ttl = :ttl"),
        values,
      });
    }
  }

  /** Counters at their limit whose window has not ended, the soonest to end first. */
  async listFull(now: number): Promise<FullCounter[]> {
    const { items } = await this.table.keptItems<CounterItem & Item>(
      {
        index: "gsi1",
        keyCondition: "gsi1pk = :full AND gsi1sk > :now",
        values: { ":full": INDEX.fullAttempts, ":now": INDEX.fullAttemptsAfter(now) },
      },
      500,
      (counter) => counter.n >= counter.limit && counter.start + counter.windowMs > now,
    );
    return items.map((counter) => ({
      id: String(counter.pk).slice(ATTEMPTS_PREFIX.length),
      kind: counter.kind,
      username: counter.username,
      address: counter.address,
      userId: counter.userId,
      attempts: counter.n,
      limit: counter.limit,
      until: counter.start + counter.windowMs,
    }));
  }

  /** Empties a counter (an admin lifting a lock); false when there is none. */
  async clear(id: string): Promise<boolean> {
    try {
      await this.table.update(counterKey(id), {
        ...expressions("SET #n = :zero REMOVE gsi1pk, gsi1sk", "attribute_exists(pk)"),
        values: { ":zero": 0 },
      });
      return true;
    } catch (err) {
      if (err instanceof ConditionFailed) return false;
      throw err;
    }
  }

  private async markFull(id: string, item: CounterItem): Promise<void> {
    const until = item.start + item.windowMs;
    try {
      await this.table.update(counterKey(id), {
        ...expressions("SET gsi1pk = :full, gsi1sk = :sk", "#start = :start"),
        values: {
          ":full": INDEX.fullAttempts,
          ":sk": INDEX.fullAttemptsSortKey(until, id),
          ":start": item.start,
        },
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
    }
  }

  /** Starts a new window with this attempt, if the one seen is still the item's. */
  private async restart(
    id: string,
    spec: CounterSpec,
    old: CounterItem,
    now: number,
  ): Promise<Taken | undefined> {
    try {
      await this.table.update(counterKey(id), {
        ...expressions(
          `SET #n = :one, #start = :now, #ttl = :ttl, ${describe(spec)} REMOVE gsi1pk, gsi1sk`,
          "#start = :seen",
        ),
        values: {
          ...describeValues(spec),
          ":one": 1,
          ":now": now,
          ":seen": old.start,
          // A trusted pair's item outlives its windows.
          ":ttl": TTL.attempts(Math.max(now, old.trustedUntil ?? 0) + spec.windowMs),
        },
      });
      if (spec.limit <= 1)
        await this.markFull(id, { ...old, n: 1, start: now, windowMs: spec.windowMs });
      return { spec, start: now };
    } catch (err) {
      if (err instanceof ConditionFailed) return undefined;
      throw err;
    }
  }
}

/** The counter's own description, written with each count (so the admin's list can show it). */
function describe(spec: CounterSpec): string {
  const fields = ["#kind = :kind", "#limit = :limit", "#windowMs = :windowMs"];
  for (const name of ["username", "address", "userId"] as const)
    if (spec.subject[name] !== undefined) fields.push(`#${name} = :${name}`);
  return fields.join(", ");
}

const ATTRIBUTES = [
  "n",
  "start",
  "ttl",
  "kind",
  "limit",
  "windowMs",
  "trustedUntil",
  "username",
  "address",
  "userId",
];

/**
 * An update and its condition with every attribute named by placeholder (DynamoDB reserves
 * hundreds of words, `limit`, `start` and `ttl` among them), and only those used.
 */
function expressions(update: string, condition?: string) {
  const text = `${update} ${condition ?? ""}`;
  const names = Object.fromEntries(
    ATTRIBUTES.filter((name) => new RegExp(`#${name}\\b`).test(text)).map((name) => [
      `#${name}`,
      name,
    ]),
  );
  return { update, condition, names };
}

function describeValues(spec: CounterSpec): Record<string, unknown> {
  const values: Record<string, unknown> = {
    ":kind": spec.kind,
    ":limit": spec.limit,
    ":windowMs": spec.windowMs,
  };
  for (const name of ["username", "address", "userId"] as const)
    if (spec.subject[name] !== undefined) values[`:${name}`] = spec.subject[name];
  return values;
}
