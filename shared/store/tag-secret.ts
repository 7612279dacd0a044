import { randomBytes } from "node:crypto";
import { ConditionFailed, type Table } from "./table";

const SECRET_KEY = { pk: "CONFIG", sk: "CREDENTIAL_TAGS" };

/**
 * The secret that credentials' check tags are computed with (`auth/tags.ts`): 32 random bytes,
 * made by the first process that needs it and kept in the table ever after, so every instance,
 * the CLI and restarts share it. A conditional put decides a race; the loser reads the winner's.
 */
export async function loadTagSecret(table: Table): Promise<Buffer> {
  const stored = await table.get<{ secret: string }>(SECRET_KEY, true);
  if (stored) return Buffer.from(stored.secret, "base64");
  const secret = randomBytes(32).toString("base64");
  try {
    await table.put({ ...SECRET_KEY, secret }, { condition: "attribute_not_exists(pk)" });
    return Buffer.from(secret, "base64");
  } catch (err) {
    if (!(err instanceof ConditionFailed)) throw err;
    // Another process made it first (or this put landed and its answer was lost).
    const winner = await table.get<{ secret: string }>(SECRET_KEY, true);
    if (!winner) throw err;
    return Buffer.from(winner.secret, "base64");
  }
}
