import { randomBytes } from "node:crypto";
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
 * stored only as their SHA-256 with a 30-minute life, and taken by one conditional delete that
 * hands back what it deleted — of any number of uses at once, exactly one gets the grant.
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
    await this.table.put(
      {
        ...resetTokenKey(hashSecret(token)),
        userId,
        sessionVersion,
        expiresAt,
        ttl: TTL.afterExpiry(expiresAt),
      },
      { condition: "attribute_not_exists(pk)" },
    );
    return token;
  }

  /** Takes the token (it works once): its grant, or undefined when unknown, used or expired. */
  async consume(token: string): Promise<ResetGrant | undefined> {
    try {
      const old = await this.table.delete<ResetGrant>(resetTokenKey(hashSecret(token)), {
        condition: "attribute_exists(pk) AND expiresAt > :now",
        values: { ":now": this.clock.seconds() },
        returnOld: true,
      });
      return (
        old && {
          userId: old.userId,
          sessionVersion: Number(old.sessionVersion),
          expiresAt: old.expiresAt,
        }
      );
    } catch (err) {
      if (err instanceof ConditionFailed) return undefined;
      throw err;
    }
  }
}
