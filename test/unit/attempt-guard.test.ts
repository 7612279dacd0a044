import { describe, expect, it } from "vitest";
import { addressBucket, networkBucket } from "../../shared/auth/address";
import { AttemptGuard } from "../../shared/auth/attempt-guard";
import { loadSettings } from "../../shared/config/settings";
import { TooManyAttempts } from "../../shared/errors";
import { toApiError } from "../../shared/http/error-mapping";
import {
  type CounterSpec,
  type CounterStore,
  counterId,
  type Take,
  type Taken,
} from "../../shared/store/attempts";

/**
 * The counters' rules as AttemptCounters writes them to DynamoDB (its conditions), kept in
 * memory: each call is atomic, as each conditional write is. Counts every write.
 */
class MemoryCounters implements CounterStore {
  readonly items = new Map<string, { n: number; start: number; trustedUntil?: number }>();
  writes = 0;

  async take(spec: CounterSpec, now: number): Promise<Take> {
    await Promise.resolve();
    this.writes++;
    const id = counterId(spec);
    const item = this.items.get(id);
    if (!item || item.start + spec.windowMs <= now) {
      this.items.set(id, { ...item, n: 1, start: now });
      return { admitted: true, taken: { spec, start: now }, trustedUntil: item?.trustedUntil };
    }
    if (item.n >= spec.limit)
      return {
        admitted: false,
        retryAfterMs: item.start + spec.windowMs - now,
        trustedUntil: item.trustedUntil,
      };
    item.n++;
    return { admitted: true, taken: { spec, start: item.start }, trustedUntil: item.trustedUntil };
  }

  async giveBack(taken: Taken): Promise<void> {
    await Promise.resolve();
    this.writes++;
    const item = this.items.get(counterId(taken.spec));
    if (item && item.start === taken.start && item.n > 0) item.n--;
  }

  async trust(taken: Taken, until: number): Promise<void> {
    await this.giveBack(taken);
    const item = this.items.get(counterId(taken.spec));
    if (item) item.trustedUntil = until;
  }

  count(spec: Pick<CounterSpec, "kind" | "subject">): number {
    return this.items.get(counterId(spec))?.n ?? 0;
  }
}

const limits = loadSettings({
  SLUICE_LOGIN_LOCK_AFTER: "10",
  SLUICE_LOGIN_ADDRESS_LOCK_AFTER: "100",
  SLUICE_LOGIN_USERNAME_PER_MINUTE: "5",
  SLUICE_REGISTER_ADDRESS_LIMIT: "5",
  SLUICE_REGISTER_SITE_LIMIT: "20",
  SLUICE_REDEEM_USER_LIMIT: "10",
  SLUICE_REDEEM_ADDRESS_LIMIT: "30",
}).attempts;
const NOW = 1_800_000_000_000;

function guard(rememberMs = 0) {
  const counters = new MemoryCounters();
  return { counters, guard: new AttemptGuard(counters, limits, rememberMs) };
}

/** What each of `attempts` came to: "tried" (counted), or the refusal. */
async function outcomes(attempts: Promise<unknown>[]): Promise<("tried" | TooManyAttempts)[]> {
  const settled = await Promise.allSettled(attempts);
  return settled.map((result) => {
    if (result.status === "fulfilled") return "tried";
    if (result.reason instanceof TooManyAttempts) return result.reason;
    throw result.reason;
  });
}

const tried = (results: unknown[]) => results.filter((result) => result === "tried").length;

describe("sign-in attempts", () => {
  it("lets 5 of 100 guesses at one name at once be tried, then 5 a minute up to 10 in the window", async () => {
    const { guard: g } = guard();
    const guess = (at: number) => g.signIn("alice", "198.51.100.7", at);
    const results = await outcomes(Array.from({ length: 100 }, () => guess(NOW)));
    // The username's slowdown (5 a minute from addresses it has not signed in from)...
    expect(tried(results)).toBe(5);
    const refused = results.find((r) => r !== "tried") as TooManyAttempts;
    expect(refused.action).toBe("sign-in");
    expect(refused.retryAfterSeconds).toBe(60);
    // ...then the (username, address) pair's lock: 10 in its 15-minute window.
    expect(tried(await outcomes(Array.from({ length: 100 }, () => guess(NOW + 60_000))))).toBe(5);
    const locked = await outcomes([guess(NOW + 120_000)]);
    expect((locked[0] as TooManyAttempts).retryAfterSeconds).toBe(900 - 120);
    await expect(guess(NOW + 900_000)).resolves.toBeDefined();
  });

  it("gives a refused attempt's counts back, so a refusal costs no one else a try", async () => {
    const { guard: g, counters } = guard();
    // The username is slowed (5 a minute from addresses it has not signed in from).
    await outcomes(Array.from({ length: 5 }, (_, i) => g.signIn("bob", `203.0.113.${i}`, NOW)));
    const refused = await outcomes([g.signIn("bob", "192.0.2.1", NOW)]);
    expect(refused[0]).toBeInstanceOf(TooManyAttempts);
    expect((refused[0] as TooManyAttempts).retryAfterSeconds).toBe(60);
    // The pair and the address it was counted on first hold nothing of it.
    expect(
      counters.count({ kind: "sign-in", subject: { username: "bob", address: "192.0.2.1" } }),
    ).toBe(0);
    expect(counters.count({ kind: "sign-in-address", subject: { address: "192.0.2.1" } })).toBe(0);
    expect(counters.count({ kind: "sign-in-username", subject: { username: "bob" } })).toBe(5);
  });

  it("never keeps an owner out of an address they signed in from, whatever others try", async () => {
    const { guard: g } = guard();
    const home = "198.51.100.20";
    await (await g.signIn("admin", home, NOW)).succeeded();
    // 100 guesses from 100 other addresses: the username is slowed to 5 a minute for them...
    const guesses = await outcomes(
      Array.from({ length: 100 }, (_, i) => g.signIn("admin", `203.0.113.${i}`, NOW + 1)),
    );
    expect(tried(guesses)).toBe(5);
    await expect(g.signIn("admin", "192.0.2.99", NOW + 2)).rejects.toBeInstanceOf(TooManyAttempts);
    // ...but the owner's address has only its own 10.
    const owner = await outcomes(
      Array.from({ length: 12 }, () => g.signIn("admin", home, NOW + 3)),
    );
    expect(tried(owner)).toBe(10);
  });

  it("trusts a pair for as long as the setting says, and a trusted pair's guesses count only there", async () => {
    const { guard: g, counters } = guard();
    await (await g.signIn("carol", "198.51.100.30", NOW)).succeeded();
    await g.signIn("carol", "198.51.100.30", NOW + 1);
    expect(counters.count({ kind: "sign-in-username", subject: { username: "carol" } })).toBe(0);
    expect(counters.count({ kind: "sign-in-address", subject: { address: "198.51.100.30" } })).toBe(
      0,
    );
    const later = NOW + limits.signIn.trustMs + 1;
    await g.signIn("carol", "198.51.100.30", later);
    expect(counters.count({ kind: "sign-in-username", subject: { username: "carol" } })).toBe(1);
  });

  it("bounds a spray of usernames from one address by the address's limit", async () => {
    const { guard: g } = guard();
    const results = await outcomes(
      Array.from({ length: 150 }, (_, i) => g.signIn(`user${i}`, "198.51.100.40", NOW)),
    );
    expect(tried(results)).toBe(100);
  });

  it("counts a success as nothing, and renews the pair's trust", async () => {
    const { guard: g, counters } = guard();
    for (let i = 0; i < 30; i++)
      await (await g.signIn("dave", "198.51.100.50", NOW + i)).succeeded();
    expect(
      counters.count({ kind: "sign-in", subject: { username: "dave", address: "198.51.100.50" } }),
    ).toBe(0);
    expect(counters.count({ kind: "sign-in-address", subject: { address: "198.51.100.50" } })).toBe(
      0,
    );
  });

  it("refuses from memory, without a write, a counter this instance found full", async () => {
    const counters = new MemoryCounters();
    const pairOnly = { ...limits, signIn: { ...limits.signIn, usernameLimit: 0 } };
    const g = new AttemptGuard(counters, pairOnly, 10_000);
    const guess = (at: number) => g.signIn("erin", "198.51.100.60", at);
    expect(tried(await outcomes(Array.from({ length: 11 }, () => guess(NOW))))).toBe(10);
    const writes = counters.writes;
    await expect(guess(NOW + 1)).rejects.toMatchObject({ retryAfterMs: 10_000 - 1 });
    expect(counters.writes).toBe(writes);
    // Past the memory, DynamoDB is asked again (and still says no).
    await expect(guess(NOW + 10_001)).rejects.toBeInstanceOf(TooManyAttempts);
    expect(counters.writes).toBe(writes + 1);
  });

  it("remembers a full address too: a sprayed name then costs its pair's write and its give-back", async () => {
    const counters = new MemoryCounters();
    const tight = { ...limits, signIn: { ...limits.signIn, addressLimit: 3 } };
    const g = new AttemptGuard(counters, tight, 10_000);
    await outcomes(
      Array.from({ length: 4 }, (_, i) => g.signIn(`spray${i}`, "198.51.100.61", NOW)),
    );
    const writes = counters.writes;
    await expect(g.signIn("another", "198.51.100.61", NOW + 1)).rejects.toBeInstanceOf(
      TooManyAttempts,
    );
    expect(counters.writes).toBe(writes + 2);
  });

  it("counts an IPv6 line by its /64", async () => {
    const { guard: g, counters } = guard();
    await outcomes(
      Array.from({ length: 4 }, (_, i) => g.signIn("frank", `2001:db8:1:2::${i + 1}`, NOW)),
    );
    const address = "2001:db8:1:2::/64";
    expect(counters.count({ kind: "sign-in", subject: { username: "frank", address } })).toBe(4);
    expect(counters.count({ kind: "sign-in-address", subject: { address } })).toBe(4);
    const network = { address: "2001:db8:1::/48" };
    expect(counters.count({ kind: "sign-in-network", subject: network })).toBe(4);
  });

  it("bounds a spray over many /64s of one IPv6 /48 by the /48's limit (4 addresses' by default)", async () => {
    const { guard: g, counters } = guard();
    expect(limits.signIn.networkLimit).toBe(400);
    // 1,000 names from 1,000 /64s of one /48: each /64 is far below its own 100.
    const spray = await outcomes(
      Array.from({ length: 1_000 }, (_, i) =>
        g.signIn(`spray${i}`, `2001:db8:7:${i.toString(16)}::1`, NOW),
      ),
    );
    expect(tried(spray)).toBe(400);
    expect(
      counters.count({ kind: "sign-in-network", subject: { address: "2001:db8:7::/48" } }),
    ).toBe(400);
    // Another /48 is counted apart.
    await expect(g.signIn("other", "2001:db8:8:1::1", NOW)).resolves.toBeDefined();
  });

  it("writes nothing more for an IPv4 address: its pair, its address and the username", async () => {
    const { guard: g, counters } = guard();
    await g.signIn("grace", "198.51.100.99", NOW);
    expect(counters.writes).toBe(3);
    expect([...counters.items.keys()].sort()).toEqual(
      [
        counterId({ kind: "sign-in", subject: { username: "grace", address: "198.51.100.99" } }),
        counterId({ kind: "sign-in-address", subject: { address: "198.51.100.99" } }),
        counterId({ kind: "sign-in-username", subject: { username: "grace" } }),
      ].sort(),
    );
  });

  it("counts no /48 with a limit of 0", async () => {
    const counters = new MemoryCounters();
    const off = loadSettings({ SLUICE_LOGIN_NETWORK_LOCK_AFTER: "0" }).attempts;
    await new AttemptGuard(counters, off, 0).signIn("heidi", "2001:db8:9:1::1", NOW);
    expect(counters.writes).toBe(3);
  });
});

describe("registrations and redemptions", () => {
  it("admits a few registrations per address and a bounded number on the site", async () => {
    const { guard: g } = guard();
    const burst = await outcomes(
      Array.from({ length: 100 }, () => g.registration("198.51.100.70", NOW)),
    );
    expect(tried(burst)).toBe(5);
    expect((burst.find((r) => r !== "tried") as TooManyAttempts).action).toBe("registration");
    // Other addresses each have their own; the site's budget is counted apart, just before
    // an account is written (siteRegistration).
    const spread = await outcomes(
      Array.from({ length: 40 }, (_, i) => g.registration(`203.0.113.${i}`, NOW)),
    );
    expect(tried(spread)).toBe(40);
    const site = await outcomes(Array.from({ length: 40 }, () => g.siteRegistration(NOW)));
    expect(tried(site)).toBe(20);
  });

  it("bounds registrations from many /64s of one IPv6 /48 by the /48's limit", async () => {
    const counters = new MemoryCounters();
    const open = loadSettings({
      SLUICE_REGISTER_ADDRESS_LIMIT: "5",
      SLUICE_REGISTER_SITE_LIMIT: "0",
    }).attempts;
    expect(open.registration.networkLimit).toBe(20);
    const g = new AttemptGuard(counters, open, 0);
    const spread = await outcomes(
      Array.from({ length: 200 }, (_, i) => g.registration(`2001:db8:5:${i.toString(16)}::1`, NOW)),
    );
    expect(tried(spread)).toBe(20);
    // IPv4 addresses write their own counter only.
    const writes = counters.writes;
    await g.registration("198.51.100.71", NOW);
    expect(counters.writes).toBe(writes + 1);
  });

  it("gives the site's registration back when no account was made", async () => {
    const { guard: g } = guard();
    const slots = await Promise.all(Array.from({ length: 20 }, () => g.siteRegistration(NOW)));
    await expect(g.siteRegistration(NOW)).rejects.toBeInstanceOf(TooManyAttempts);
    await slots[0]?.giveBack();
    await expect(g.siteRegistration(NOW)).resolves.toBeDefined();
  });

  it("counts failed redemptions per user and per address; a success gives its count back", async () => {
    const { guard: g, counters } = guard();
    await (await g.redemption("user_a", "198.51.100.80", NOW)).succeeded();
    expect(counters.count({ kind: "redemption-user", subject: { userId: "user_a" } })).toBe(0);
    const guesses = await outcomes(
      Array.from({ length: 50 }, () => g.redemption("user_a", "198.51.100.80", NOW)),
    );
    expect(tried(guesses)).toBe(10);
    const others = await outcomes(
      Array.from({ length: 50 }, (_, i) => g.redemption(`user_${i}`, "198.51.100.80", NOW)),
    );
    expect(tried(others)).toBe(30 - 10);
  });

  it("counts nothing for a limit of 0", async () => {
    const counters = new MemoryCounters();
    const off = loadSettings({
      SLUICE_REGISTER_ADDRESS_LIMIT: "0",
      SLUICE_REGISTER_SITE_LIMIT: "0",
    }).attempts;
    const g = new AttemptGuard(counters, off, 0);
    await Promise.all(Array.from({ length: 50 }, () => g.registration("198.51.100.90", NOW)));
    expect(counters.writes).toBe(0);
  });
});

describe("a refusal as HTTP", () => {
  it("is 429 with Retry-After in whole seconds, and says when in words", () => {
    const error = toApiError(new TooManyAttempts("sign-in", 1_500));
    expect(error).toMatchObject({ status: 429, code: "too_many_sign_ins" });
    expect(error?.headers["retry-after"]).toBe("2");
    expect(error?.message).toMatch(/Try again in 2 seconds/);
    expect(toApiError(new TooManyAttempts("registration", 3_600_000))?.message).toMatch(
      /Try again in 60 minutes/,
    );
  });
});

describe("the address attempts are counted by", () => {
  it("is an IPv4 address as it is, and an IPv6 address's /64 however it is written", () => {
    expect(addressBucket("198.51.100.7")).toBe("198.51.100.7");
    expect(addressBucket("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(addressBucket("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
    expect(addressBucket("2001:0DB8:0001:0002:ffff:0:0:1")).toBe("2001:db8:1:2::/64");
    expect(addressBucket("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(addressBucket("::1")).toBe("0:0:0:0::/64");
    expect(addressBucket("2001:db8:1:3::1")).not.toBe(addressBucket("2001:db8:1:2::1"));
    expect(addressBucket(undefined)).toBe("unknown");
  });

  it("is also, for an IPv6 address only, its /48", () => {
    expect(networkBucket("2001:db8:1:2::1")).toBe("2001:db8:1::/48");
    expect(networkBucket("2001:0DB8:0001:ffff:1:2:3:4")).toBe("2001:db8:1::/48");
    expect(networkBucket("2001:db8::1")).toBe("2001:db8:0::/48");
    expect(networkBucket("198.51.100.7")).toBeUndefined();
    expect(networkBucket("::ffff:198.51.100.7")).toBeUndefined();
    expect(networkBucket(undefined)).toBeUndefined();
    expect(networkBucket("not an address")).toBeUndefined();
  });
});
