import { type Clock, systemClock } from "../clock";
import type { Settings } from "../config/settings";
import { TooManyAttempts } from "../errors";
import type { RegistrationLimits } from "../site/sections/registration-limits";
import type {
  AttemptKind,
  AttemptSubject,
  CounterSpec,
  CounterStore,
  Taken,
} from "../store/attempts";
import { addressBucket, networkBucket } from "./address";

type Action = TooManyAttempts["action"];

const DAY_MS = 86_400_000;

/** Counters remembered as full at most this many at once (an instance under a spray). */
const MAX_REMEMBERED = 10_000;

/**
 * An attempt that was counted before it was tried. `succeeded` takes it back out of every
 * counter (only failures count); a failure leaves it counted.
 */
export class CountedAttempt {
  constructor(
    private readonly counters: CounterStore,
    private readonly taken: Taken[],
    private readonly trusting?: { taken: Taken; until: number },
  ) {}

  async succeeded(): Promise<void> {
    await Promise.all([
      ...this.taken.map((taken) => this.counters.giveBack(taken)),
      ...(this.trusting ? [this.counters.trust(this.trusting.taken, this.trusting.until)] : []),
    ]);
  }
}

/**
 * Counts attempts that guess a secret or hand out credit before they are tried: one
 * conditional write per counter, refused once the counter's window holds its limit, so that
 * however many attempts arrive at once, no more than the limit are tried. When one counter
 * refuses, the attempt is not tried and the others give theirs back.
 *
 * Sign-ins are counted per (username, address) first. A pair that signed in successfully
 * within `trustMs` is limited by that count alone: guesses from elsewhere can slow the
 * username down for other addresses but never keep its owner out of an address the owner
 * uses. Other pairs are counted per address too (a spray of usernames) and per username (a
 * guess from many addresses), which is a short window: a slowdown, not a lock.
 *
 * An IPv6 address is counted by its /64 and, with a limit of its own, by its /48 (one
 * allocation holds 65,536 /64s); an IPv4 address by itself only.
 *
 * An instance remembers, for a cache's lifetime, counters it found full, and refuses
 * attempts on them without a write (DynamoDB still holds the truth: a remembered counter
 * only ever refuses sooner, never admits).
 */
export class AttemptGuard {
  private readonly full = new Map<string, number>();

  constructor(
    private readonly counters: CounterStore,
    private readonly limits: Settings["attempts"],
    /** How long a counter found full is remembered here (0: never). */
    private readonly rememberMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** A sign-in, counted before its password is checked; TooManyAttempts when refused. */
  async signIn(
    username: string,
    ip: string | undefined,
    now = this.clock.now(),
  ): Promise<CountedAttempt> {
    const { signIn } = this.limits;
    const address = addressBucket(ip);
    const pair = spec("sign-in", { username, address }, signIn.pairLimit, signIn.windowMs);
    const [first] = await this.takeAll("sign-in", [pair], now);
    // A success trusts the pair (and gives its count back) for trustMs from now.
    const trust = first && { taken: first.taken, until: now + signIn.trustMs };
    if (first?.trustedUntil !== undefined && first.trustedUntil > now)
      return new CountedAttempt(this.counters, [], trust);
    const others = [
      spec("sign-in-address", { address }, signIn.addressLimit, signIn.windowMs),
      networkSpec("sign-in-network", ip, signIn.networkLimit, signIn.windowMs),
      spec("sign-in-username", { username }, signIn.usernameLimit, signIn.usernameWindowMs),
    ];
    let rest: Taken[];
    try {
      rest = (await this.takeAll("sign-in", others, now)).map((take) => take.taken);
    } catch (err) {
      if (first) await this.counters.giveBack(first.taken);
      throw err;
    }
    return new CountedAttempt(this.counters, rest, trust);
  }

  /**
   * A registration from `ip` (and its IPv6 /48), counted once it is known to be well formed,
   * whether it then makes an account or not (a taken username too, so that registering cannot
   * list names quickly). `limits`: the site's (its registration_limits section), else the
   * settings'; with `perAddressPerDay`, the address is counted over 24 hours too.
   */
  async registration(
    ip: string | undefined,
    now = this.clock.now(),
    limits: RegistrationLimits = this.registrationLimits(),
  ): Promise<void> {
    const windowMs = limits.windowSeconds * 1000;
    const address = addressBucket(ip);
    await this.takeAll(
      "registration",
      [
        spec("registration-address", { address }, limits.addressLimit, windowMs),
        networkSpec("registration-network", ip, limits.networkLimit, windowMs),
        spec("registration-address-day", { address }, limits.perAddressPerDay, DAY_MS),
      ],
      now,
    );
  }

  /**
   * One of the site's registrations, counted just before the account is written, after every
   * check that can refuse it (so that failing requests, however many, cannot use up the
   * site's budget); `giveBack` when the write makes no account after all.
   */
  async siteRegistration(
    now = this.clock.now(),
    limits: RegistrationLimits = this.registrationLimits(),
  ): Promise<{ giveBack(): Promise<void> }> {
    const site = spec("registration-site", {}, limits.siteLimit, limits.windowSeconds * 1000);
    const [taken] = await this.takeAll("registration", [site], now);
    return {
      giveBack: async () => {
        if (taken) await this.counters.giveBack(taken.taken);
      },
    };
  }

  /** The settings' registration limits, as the site's section holds them. */
  private registrationLimits(): RegistrationLimits {
    const { addressLimit, networkLimit, siteLimit, windowMs } = this.limits.registration;
    return {
      addressLimit,
      networkLimit,
      siteLimit,
      windowSeconds: windowMs / 1000,
      perAddressPerDay: 0,
    };
  }

  /** A redemption of a code, counted before the code is looked up. */
  async redemption(
    userId: string,
    ip: string | undefined,
    now = this.clock.now(),
  ): Promise<CountedAttempt> {
    const { redemption } = this.limits;
    const taken = await this.takeAll(
      "redemption",
      [
        spec("redemption-user", { userId }, redemption.userLimit, redemption.windowMs),
        spec(
          "redemption-address",
          { address: addressBucket(ip) },
          redemption.addressLimit,
          redemption.windowMs,
        ),
      ],
      now,
    );
    return new CountedAttempt(
      this.counters,
      taken.map((take) => take.taken),
    );
  }

  /**
   * A mail asked for (a verification code, a reset link) to `email` from `ip`, counted before
   * anything is looked up or sent, whether the address has an account or not: a flood can
   * neither bomb one inbox nor list which addresses are registered.
   */
  async mail(email: string, ip: string | undefined, now = this.clock.now()): Promise<void> {
    const { mail } = this.limits;
    const subject = { username: email.toLowerCase() };
    await this.takeAll(
      "mail",
      [
        spec("mail-email-minute", subject, mail.emailPerMinute, 60_000),
        spec("mail-email", subject, mail.emailLimit, mail.windowMs),
        spec("mail-address", { address: addressBucket(ip) }, mail.addressLimit, mail.windowMs),
        networkSpec("mail-network", ip, mail.networkLimit, mail.windowMs),
      ],
      now,
    );
  }

  /**
   * Counts the attempt on every counter at once (counters with no limit are skipped). If
   * any refuses, the others give theirs back and TooManyAttempts says how long to wait.
   */
  private async takeAll(
    action: Action,
    specs: (CounterSpec | undefined)[],
    now: number,
  ): Promise<{ taken: Taken; trustedUntil?: number }[]> {
    const counted = specs.filter((s): s is CounterSpec => s !== undefined);
    const remembered = Math.max(0, ...counted.map((s) => (this.full.get(key(s)) ?? 0) - now));
    if (remembered > 0) throw new TooManyAttempts(action, remembered);
    const takes = await Promise.allSettled(counted.map((s) => this.counters.take(s, now)));
    const admitted: { taken: Taken; trustedUntil?: number }[] = [];
    let waitMs = 0;
    let failure: unknown;
    takes.forEach((take, i) => {
      if (take.status === "rejected") failure ??= take.reason;
      else if (take.value.admitted) admitted.push(take.value);
      else {
        waitMs = Math.max(waitMs, take.value.retryAfterMs);
        this.remember(counted[i] as CounterSpec, now + take.value.retryAfterMs, now);
      }
    });
    if (failure === undefined && waitMs === 0) return admitted;
    await Promise.all(admitted.map(({ taken }) => this.counters.giveBack(taken)));
    throw failure ?? new TooManyAttempts(action, waitMs);
  }

  private remember(counter: CounterSpec, until: number, now: number): void {
    if (this.rememberMs <= 0) return;
    if (this.full.size >= MAX_REMEMBERED) this.full.clear();
    this.full.set(key(counter), Math.min(until, now + this.rememberMs));
  }
}

/** A counter, or none when its limit is 0 (not counted). */
function spec(
  kind: AttemptKind,
  subject: AttemptSubject,
  limit: number,
  windowMs: number,
): CounterSpec | undefined {
  return limit > 0 ? { kind, subject, limit, windowMs } : undefined;
}

/** The counter of `ip`'s IPv6 /48, or none for an IPv4 address (or a limit of 0). */
function networkSpec(
  kind: AttemptKind,
  ip: string | undefined,
  limit: number,
  windowMs: number,
): CounterSpec | undefined {
  const network = networkBucket(ip);
  return network === undefined ? undefined : spec(kind, { address: network }, limit, windowMs);
}

const key = (s: CounterSpec) =>
  [s.kind, s.subject.username, s.subject.address, s.subject.userId].join("\n");
