import { randomBytes, randomUUID } from "node:crypto";
import { hashSecret } from "../auth/secrets";
import { type Clock, systemClock } from "../clock";
import { resetTokenKey, TTL } from "./keys";
import { ConditionFailed, type Table } from "./table";

/** How long a reset link works. */
export const RESET_TTL_SECONDS = 30 * 60;

/** A reset token's item, as issued. */
export interface ResetGrant {
  userId: string;
  /** The user's session version when it was issued: a password changed since kills it. */
  sessionVersion: number;
  expiresAt: number;
}

/**
 * Password reset tokens (issue 22 §2 rule 7): 32 random bytes (43 characters of base64url),
 * stored only as their SHA-256 with a 30-minute life, and spent by one conditional write that
 * marks the item with the spender's own id — of any number of uses at once, exactly one gets
 * the grant. (Not a delete that hands back what it deleted: when its answer is lost, the
 * DynamoDB client's retry finds nothing, and the one use that spent the link would be refused.
 * The mark tells that retry it was its own.) A spent item stays until its TTL removes it.
 */
export class ResetTokens {
  constructor(
    private readonly table: Table,
    private readonly clock: Clock = systemClock,
  ) {}

  /** A new token for `userId`, to be mailed as a link; only its hash is kept. */
  async issue(userId: string, sessionVersion: number): Promise<string> {
    const token = randomBytes(32).toString("base64url");
    const expiresAt = this.clock.seconds() + RESET_TTL_SECONDS;
    await this.table.create({
      ...resetTokenKey(hashSecret(token)),
      userId,
      sessionVersion,
      expiresAt,
      ttl: TTL.afterExpiry(expiresAt),
    });
    return token;
  }

  /** Spends the token (it works once): its grant, or undefined when unknown, spent or expired. */
  async consume(token: string): Promise<ResetGrant | undefined> {
    const spentBy = randomUUID();
    let item: ResetGrant | undefined;
    try {
      item = await this.table.update<ResetGrant>(resetTokenKey(hashSecret(token)), {
        update: "SET spentBy = :spentBy",
        condition: "attribute_exists(pk) AND attribute_not_exists(spentBy) AND expiresAt > :now",
        values: { ":spentBy": spentBy, ":now": this.clock.seconds() },
        returnValues: "ALL_NEW",
        explainFailure: true,
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      // Spent by this very call, on an attempt whose answer was lost; refused otherwise.
      if (err.item?.spentBy !== spentBy) return undefined;
      item = err.item as unknown as ResetGrant;
    }
    return (
      item && {
        userId: item.userId,
        sessionVersion: Number(item.sessionVersion),
        expiresAt: item.expiresAt,
      }
    );
  }
}
