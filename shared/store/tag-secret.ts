import { randomBytes } from "node:crypto";
import { INDEX, TAG_SECRET_KEY as SECRET_KEY } from "./keys";
import { ConditionFailed, type Table } from "./table";

/** The secret credentials' check tags are computed with, and what the stack had before it. */
export interface TagSecret {
  secret: Buffer;
  /**
   * Whether credentials of the format issued before tags (which only a read can tell from
   * made-up ones) may exist on this stack: whether it had users when the secret was made.
   */
  legacy: boolean;
}

interface StoredSecret {
  secret: string;
  /** Absent on secrets made before this was recorded: unknown, so taken as true. */
  legacy?: boolean;
}

/**
 * The secret that credentials' check tags are computed with (`auth/tags.ts`): 32 random bytes,
 * made by the first process that needs it and kept in the table ever after, so every instance,
 * the CLI and restarts share it. A conditional put decides a race; the loser reads the winner's.
 *
 * Every credential issued since the secret exists carries a tag, so old-format ones can exist
 * only on a stack that had users when the secret was made: that is recorded with it, once.
 * (A fresh stack's first credential is its admin's token, issued before the admin is created.)
 */
export async function loadTagSecret(table: Table): Promise<TagSecret> {
  const stored = await table.get<StoredSecret>(SECRET_KEY, true);
  if (stored) return read(stored);
  const made: StoredSecret = {
    secret: randomBytes(32).toString("base64"),
    legacy: await hasUsers(table),
  };
  try {
    await table.put({ ...SECRET_KEY, ...made }, { condition: "attribute_not_exists(pk)" });
    return read(made);
  } catch (err) {
    if (!(err instanceof ConditionFailed)) throw err;
    // Another process made it first (or this put landed and its answer was lost).
    const winner = await table.get<StoredSecret>(SECRET_KEY, true);
    if (!winner) throw err;
    return read(winner);
  }
}

function read(stored: StoredSecret): TagSecret {
  return { secret: Buffer.from(stored.secret, "base64"), legacy: stored.legacy ?? true };
}

/** Whether the table holds any user (one item of the users' index is enough to know). */
async function hasUsers(table: Table): Promise<boolean> {
  const { items } = await table.query({
    index: "gsi1",
    keyCondition: "gsi1pk = :pk",
    values: { ":pk": INDEX.users },
    limit: 1,
  });
  return items.length > 0;
}
