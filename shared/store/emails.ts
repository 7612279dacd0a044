import { emailKey } from "./keys";
import type { Table, TransactOp } from "./table";

/**
 * Which user a verified e-mail address belongs to: `EMAIL#<lower> / EMAIL → {userId}`, claimed
 * conditionally, so one address is one account's however many sign-ups race for it. Only a
 * verified address is claimed (an unverified one is only a profile field): it is what password
 * reset and account linking find a user by.
 *
 * (Issue 22 §11 gives this file to stream d-signin; stream e-mail wrote this minimal read and
 * claim for verification, in the shape the brief gives.)
 */
export class Emails {
  constructor(private readonly table: Table) {}

  /** The user whose verified address this is (compared without case). */
  async find(email: string): Promise<string | undefined> {
    const item = await this.table.get<{ userId: string }>(emailKey(email), true);
    return item?.userId;
  }

  /** The write that claims `email` for `userId`, in a transaction; it fails if another holds it. */
  claimOp(email: string, userId: string): TransactOp {
    return {
      put: { ...emailKey(email), userId, email: email.toLowerCase() },
      condition: "attribute_not_exists(pk) OR userId = :user",
      values: { ":user": userId },
    };
  }

  /** The write that gives `email` up, if `userId` holds it (a no-op otherwise). */
  releaseOp(email: string, userId: string): TransactOp {
    return {
      delete: emailKey(email),
      condition: "attribute_not_exists(pk) OR userId = :user",
      values: { ":user": userId },
    };
  }
}
