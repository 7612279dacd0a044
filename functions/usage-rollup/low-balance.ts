import { randomUUID } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import { unitsToDollars } from "../../shared/billing/units";
import { type Clock, systemClock } from "../../shared/clock";
import type { Mailer } from "../../shared/mail/mailer";
import { lowBalanceMail, mailLanguage } from "../../shared/mail/templates";
import { SITE_NAME } from "../../shared/management/mail-context";
import type { HoldRecord } from "../../shared/store/account-codec";
import { Accounts } from "../../shared/store/accounts";
import { userKey } from "../../shared/store/keys";
import type { StreamedLine } from "../../shared/store/rollups";
import { ConditionFailed, type Table } from "../../shared/store/table";
import type { UsageLogEntry } from "../../shared/store/usage";
import type { UserProfile } from "../../shared/store/users";

/**
 * What the lines' calls will still take from the balance: a call's line is written before its
 * settlement (billing/ledger.ts), so the stream may bring it while its hold (the line's id) is
 * still on the account, the balance not yet moved by the cost.
 */
function unsettled(lines: readonly UsageLogEntry[], holds: readonly HoldRecord[]): number {
  const held = new Set(holds.map((hold) => hold.id));
  let units = 0;
  for (const line of lines) if (line.type === "consume" && held.has(line.id)) units += line.quota;
  return units;
}

/** How long a profile read here is trusted by default (a threshold set since is seen within it). */
const PROFILE_TTL_MS = 5 * 60_000;

type Watched = Pick<
  UserProfile,
  "email" | "emailVerified" | "lang" | "lowBalanceAlertUnits" | "lowBalanceNotifiedAt"
>;

/**
 * The low-balance notice (issue 22 §6.5), checked here, off the request path: of the users whose
 * lines a stream batch carries, those who set a threshold (and have a verified address) have
 * their balance read — a consistent read of the account, less what the batch's calls still
 * owe (`unsettled`) — and a crossing below it is mailed once: the mark `lowBalanceNotifiedAt`
 * is set by a conditional write first, so two batches (or shards) that see the crossing at
 * once send one mail; a send that fails takes the mark back, so the next batch with a line of
 * the user's tries again — it does not fail this batch, which the stream would retry without
 * end, holding the shard's rollups and site log back for as long as the mail transport is
 * down. Seen at or above the threshold again, the mark is removed (the one seen, not a newer
 * one): the next crossing is told.
 * A call costs nothing more for it.
 */
export class LowBalanceNotices {
  private readonly profiles = new Map<string, { at: number; profile: Watched | undefined }>();
  private readonly accounts: Accounts;

  constructor(
    private readonly table: Table,
    private readonly mailer: Mailer,
    private readonly options: {
      publicOrigin?: string;
      log: Logger;
      clock?: Clock;
      /** How long a profile is cached (PROFILE_TTL_MS; the local stack: its cache TTL). */
      profileTtlMs?: number;
    },
  ) {
    this.accounts = new Accounts(table);
  }

  private get clock(): Clock {
    return this.options.clock ?? systemClock;
  }

  async check(lines: readonly StreamedLine[]): Promise<void> {
    if (!this.mailer.enabled) return;
    const byUser = new Map<string, UsageLogEntry[]>();
    for (const { line } of lines) {
      const own = byUser.get(line.userId);
      if (own) own.push(line);
      else byUser.set(line.userId, [line]);
    }
    await Promise.all([...byUser].map(([userId, own]) => this.checkUser(userId, own)));
  }

  private async checkUser(userId: string, lines: readonly UsageLogEntry[]): Promise<void> {
    const profile = await this.profile(userId);
    const threshold = profile?.lowBalanceAlertUnits;
    if (!profile || threshold === undefined || !profile.emailVerified || !profile.email) return;
    const account = await this.accounts.get(userId, true);
    if (!account) return;
    const total = account.balances.total - unsettled(lines, account.holds);
    if (total < threshold && profile.lowBalanceNotifiedAt === undefined) {
      await this.notify(userId, profile, threshold, total);
    } else if (total >= threshold && profile.lowBalanceNotifiedAt !== undefined) {
      await this.rearm(userId, profile);
    }
  }

  private async notify(userId: string, profile: Watched, threshold: number, total: number) {
    const at = this.clock.seconds();
    // This notice's own id: a retry of the mark whose answer was lost finds it ours, and mails.
    const notice = randomUUID();
    try {
      await this.table.update(userKey(userId), {
        update: "SET lowBalanceNotifiedAt = :at, lowBalanceNotice = :notice",
        condition:
          "attribute_not_exists(lowBalanceNotifiedAt) AND lowBalanceAlertUnits = :threshold",
        values: { ":at": at, ":threshold": threshold, ":notice": notice },
        explainFailure: true,
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      if (err.item?.lowBalanceNotice !== notice) {
        // Told already (another batch saw it first), or the threshold changed: read afresh next time.
        this.profiles.delete(userId);
        return;
      }
    }
    profile.lowBalanceNotifiedAt = at;
    // In whole cents, down: a balance just below a threshold never reads as the threshold.
    const dollars = (units: number) =>
      `$${(Math.floor(unitsToDollars(units) * 100) / 100).toFixed(2)}`;
    try {
      await this.mailer.send(
        lowBalanceMail({
          to: profile.email as string,
          lang: mailLanguage(profile.lang),
          site: SITE_NAME,
          balance: dollars(total),
          threshold: dollars(threshold),
          url: `${this.options.publicOrigin ?? ""}/#/topup`,
        }),
      );
    } catch (err) {
      // Not told: this notice's mark goes, so the user's next line tries again. Found gone,
      // it went already (this write's own retry, its answer lost, or another batch's change).
      await this.table
        .update(userKey(userId), {
          update: "REMOVE lowBalanceNotifiedAt",
          condition: "lowBalanceNotice = :notice AND attribute_exists(lowBalanceNotifiedAt)",
          values: { ":notice": notice },
        })
        .catch((failed) => {
          if (!(failed instanceof ConditionFailed)) throw failed;
        });
      this.profiles.delete(userId);
      this.options.log.error("low-balance notice not sent", err as Error);
    }
  }

  /**
   * Takes back the mark this batch saw, only that one: between its read of the balance and
   * this write, another batch may have taken it back, seen a crossing and told it (a new mark),
   * which a balance read before that crossing must not undo.
   */
  private async rearm(userId: string, profile: Watched) {
    try {
      await this.table.update(userKey(userId), {
        update: "REMOVE lowBalanceNotifiedAt",
        condition: "lowBalanceNotifiedAt = :seen",
        values: { ":seen": profile.lowBalanceNotifiedAt },
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      this.profiles.delete(userId);
      return;
    }
    profile.lowBalanceNotifiedAt = undefined;
  }

  /** The parts of a profile this needs, from this instance's cache (PROFILE_TTL_MS). */
  private async profile(userId: string): Promise<Watched | undefined> {
    const now = this.clock.now();
    const cached = this.profiles.get(userId);
    if (cached && now - cached.at < (this.options.profileTtlMs ?? PROFILE_TTL_MS))
      return cached.profile;
    const item = await this.table.get<Watched>(userKey(userId));
    const profile = item && {
      email: item.email,
      emailVerified: item.emailVerified,
      lang: item.lang,
      lowBalanceAlertUnits: item.lowBalanceAlertUnits,
      lowBalanceNotifiedAt: item.lowBalanceNotifiedAt,
    };
    if (this.profiles.size > 10_000) this.profiles.clear();
    this.profiles.set(userId, { at: now, profile });
    return profile;
  }
}
