import { emailKey } from "./keys";
import { ConditionFailed, type Table, type TransactOp } from "./table";

/**
 * Verified e-mail addresses, each reserved for one user: `EMAIL#<lower> / EMAIL → {userId, at}`.
 * Only an address proven to be the user's is written here (a code mailed to it, or a provider
 * that says it verified it), so finding one is proof enough to link a sign-in to its owner or to
 * send it a password reset. A profile's `email` field is what the user typed and is not this.
 */
export class Emails {
  constructor(private readonly table: Table) {}

  /** The user whose verified address this is (compared without case). */
  async owner(address: string): Promise<string | undefined> {
    return (await this.table.get<{ userId: string }>(emailKey(address), true))?.userId;
  }

  /**
   * Reserves a verified address for `userId`: `claimed`, `own` when it was theirs already, or
   * `taken` when another user's (of a burst for one address, one user wins).
   */
  async claim(address: string, userId: string, at: number): Promise<"claimed" | "own" | "taken"> {
    try {
      await this.table.put(
        { ...emailKey(address), userId, at },
        { condition: "attribute_not_exists(pk)" },
      );
      return "claimed";
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      return (await this.owner(address)) === userId ? "own" : "taken";
    }
  }

  /** Gives the address back, if it is `userId`'s. */
  async release(address: string, userId: string): Promise<void> {
    try {
      await this.table.delete(emailKey(address), {
        condition: "userId = :user",
        values: { ":user": userId },
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
    }
  }

  /**
   * `claim` as a step of a transaction (stream e-mail: an account made, or an address changed,
   * together with its claim); the transaction fails if another user holds the address.
   */
  claimOp(address: string, userId: string, at: number): TransactOp {
    return {
      put: { ...emailKey(address), userId, at },
      condition: "attribute_not_exists(pk) OR userId = :user",
      values: { ":user": userId },
    };
  }

  /** `release` as a step of a transaction (a no-op when `userId` does not hold the address). */
  releaseOp(address: string, userId: string): TransactOp {
    return {
      delete: emailKey(address),
      condition: "attribute_not_exists(pk) OR userId = :user",
      values: { ":user": userId },
    };
  }
}
