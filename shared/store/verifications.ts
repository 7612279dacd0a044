import { createHash, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import { type Clock, systemClock } from "../clock";
import { TTL, verificationKey } from "./keys";
import { ConditionFailed, type Table } from "./table";

/** How long a code works, and how many tries it has before it is burned. */
export const CODE_TTL_SECONDS = 600;
export const CODE_ATTEMPTS = 6;

/** What a try of a code came to. */
export type CodeCheck = "ok" | "wrong" | "invalid";

interface CodeItem {
  codeHash: string;
  attempts: number;
  expiresAt: number;
  /** The try that took the code. */
  takenBy?: string;
  /** Each try counted is marked `t_<its id>` (at most CODE_ATTEMPTS of them). */
  [mark: `t_${string}`]: number;
}

/**
 * E-mail verification codes: six digits, sent before any account exists (one-api's
 * `GET /api/verification`), stored only hashed under the address's hash with a 10-minute life.
 * A new code replaces the last. Each try is counted by one conditional write before the code is
 * compared, so however many tries arrive at once, at most CODE_ATTEMPTS are compared; the right
 * code is then taken by a conditional write, so of a burst only one try wins it; the last
 * wrong try burns it. Both writes carry the try's own id (a mark per try, as a hold's record
 * is one per hold: tries of others in between do not hide it): when an answer is lost and
 * the DynamoDB client sends the write again, the retry finds its own try counted (not counted
 * twice), or its own take (not a right code refused). A taken code stays until its TTL.
 */
export class Verifications {
  constructor(
    private readonly table: Table,
    private readonly clock: Clock = systemClock,
  ) {}

  /** A new code for `email` (replacing any), to be mailed; only its hash is kept. */
  async issue(email: string): Promise<string> {
    const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
    const expiresAt = this.clock.seconds() + CODE_TTL_SECONDS;
    await this.table.put({
      ...verificationKey(addressHash(email)),
      codeHash: codeHash(email, code),
      attempts: 0,
      expiresAt,
      ttl: TTL.afterExpiry(expiresAt),
    });
    return code;
  }

  /**
   * Tries `code` for `email`: `ok` takes the code (it works once), `wrong` counts a try (the
   * last one burns it), `invalid` when there is no live code (none asked for, expired, burned
   * or taken).
   */
  async check(email: string, code: string): Promise<CodeCheck> {
    const key = verificationKey(addressHash(email));
    const tryId = randomUUID().replaceAll("-", "");
    const mark = `t_${tryId}` as const;
    let item: CodeItem | undefined;
    try {
      item = await this.table.update<CodeItem>(key, {
        update: "SET attempts = attempts + :one, #try = :one",
        condition:
          "attribute_exists(pk) AND attempts < :max AND expiresAt > :now AND attribute_not_exists(takenBy) AND attribute_not_exists(#try)",
        names: { "#try": mark },
        values: { ":one": 1, ":max": CODE_ATTEMPTS, ":now": this.clock.seconds() },
        returnValues: "ALL_NEW",
        explainFailure: true,
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
      // Counted by this very try, on an attempt whose answer was lost; no live code otherwise.
      if (err.item?.[mark] === undefined) return "invalid";
      item = err.item as unknown as CodeItem;
    }
    if (!item) return "invalid";
    const expected = Buffer.from(item.codeHash, "hex");
    const given = Buffer.from(codeHash(email, code), "hex");
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      try {
        // Single use: of a burst of right tries, the one whose write lands wins.
        await this.table.update(key, {
          update: "SET takenBy = :try",
          condition: "codeHash = :hash AND attribute_not_exists(takenBy)",
          values: { ":hash": item.codeHash, ":try": tryId },
          explainFailure: true,
        });
        return "ok";
      } catch (err) {
        if (!(err instanceof ConditionFailed)) throw err;
        return err.item?.takenBy === tryId ? "ok" : "invalid";
      }
    }
    if (item.attempts >= CODE_ATTEMPTS) {
      // Its last try: burned (TTL would drop it too; this way it is gone at once).
      await this.table
        .delete(key, { condition: "codeHash = :hash", values: { ":hash": item.codeHash } })
        .catch((err) => {
          if (!(err instanceof ConditionFailed)) throw err;
        });
    }
    return "wrong";
  }
}

/** The address as the code's item is keyed: its lower case, hashed (no address in a key). */
function addressHash(email: string): string {
  return createHash("sha256").update(email.toLowerCase()).digest("hex");
}

function codeHash(email: string, code: string): string {
  return createHash("sha256").update(`${email.toLowerCase()}\n${code}`).digest("hex");
}
