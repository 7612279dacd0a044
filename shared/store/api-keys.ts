import { hashSecret, maskSecret } from "../auth/secrets";
import { definedOnly } from "../objects";
import type { Table } from "./table";

export type ApiKeyStatus = "enabled" | "disabled" | "expired" | "exhausted";

/** An `sk-` key. Stored under the SHA-256 of the secret, which also serves as its id. */
export interface ApiKeyRecord {
  id: string;
  userId: string;
  name: string;
  status: ApiKeyStatus;
  /** The only trace of the secret besides its hash: `sk-YZ12…466d`. */
  masked: string;
  createdTime: number;
  accessedTime: number;
  /** Unix seconds, or -1 for never. */
  expiredTime: number;
  remainQuota: number;
  unlimitedQuota: boolean;
  usedQuota: number;
  /** null: every model the user's channels serve. */
  models: string[] | null;
}

export const apiKeyKey = (id: string) => ({ pk: `KEY#${id}`, sk: "KEY" });
const userKeysIndex = (userId: string) => `USER#${userId}#KEYS`;

export class ApiKeys {
  constructor(private readonly table: Table) {}

  async get(id: string, consistent = false): Promise<ApiKeyRecord | undefined> {
    const item = await this.table.get<ApiKeyRecord>(apiKeyKey(id), consistent);
    return item && toRecord(item);
  }

  async findBySecret(secret: string): Promise<ApiKeyRecord | undefined> {
    return this.get(hashSecret(secret));
  }

  async create(
    secret: string,
    fields: Pick<ApiKeyRecord, "userId" | "name"> & Partial<ApiKeyRecord>,
  ): Promise<ApiKeyRecord> {
    const record = newApiKeyRecord(secret, fields);
    await this.table.put(
      {
        ...apiKeyKey(record.id),
        gsi1pk: userKeysIndex(record.userId),
        gsi1sk: `${String(record.createdTime).padStart(12, "0")}#${record.id}`,
        ...record,
      },
      { condition: "attribute_not_exists(pk)" },
    );
    return record;
  }

  /** A user's keys, newest first. */
  async listByUser(userId: string): Promise<ApiKeyRecord[]> {
    const items = await this.table.queryAll<ApiKeyRecord & { pk: string }>({
      index: "gsi1",
      keyCondition: "gsi1pk = :pk",
      values: { ":pk": userKeysIndex(userId) },
      ascending: false,
    });
    return items.map(toRecord);
  }

  /** Changes the editable fields of a key that belongs to `userId`. */
  async update(
    id: string,
    userId: string,
    fields: Partial<
      Pick<
        ApiKeyRecord,
        "name" | "status" | "remainQuota" | "unlimitedQuota" | "expiredTime" | "models"
      >
    >,
  ): Promise<ApiKeyRecord> {
    const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = { "#user": "userId" };
    const values: Record<string, unknown> = { ":user": userId };
    const sets = entries.map(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:v${i}`] = value;
      // Holds in flight are already taken from remainQuota and give back what they did not
      // spend when they settle: a new allowance is net of them, or it would be exceeded.
      if (field === "remainQuota") {
        values[":zero"] = 0;
        return `#f${i} = :v${i} - if_not_exists(heldQuota, :zero)`;
      }
      return `#f${i} = :v${i}`;
    });
    const updated = await this.table.update<ApiKeyRecord & { pk: string }>(apiKeyKey(id), {
      update: sets.length ? `SET ${sets.join(", ")}` : "SET #user = :user",
      condition: "attribute_exists(pk) AND #user = :user",
      names,
      values,
      returnValues: "ALL_NEW",
    });
    return toRecord(updated as ApiKeyRecord & { pk: string });
  }

  async delete(id: string, userId: string): Promise<void> {
    await this.table.delete(apiKeyKey(id), {
      condition: "attribute_exists(pk) AND userId = :user",
      values: { ":user": userId },
    });
  }
}

/** A new key's record: stored by its secret's hash, shown masked, unlimited unless told. */
export function newApiKeyRecord(
  secret: string,
  fields: Pick<ApiKeyRecord, "userId" | "name"> & Partial<ApiKeyRecord>,
): ApiKeyRecord {
  const now = Math.floor(Date.now() / 1000);
  return {
    status: "enabled",
    createdTime: now,
    accessedTime: now,
    expiredTime: -1,
    remainQuota: 0,
    unlimitedQuota: true,
    usedQuota: 0,
    models: null,
    ...definedOnly(fields),
    userId: fields.userId,
    name: fields.name,
    id: hashSecret(secret),
    masked: maskSecret(secret),
  };
}

/** Drops the table's key attributes (and the ledger's running total of holds) from an item. */
function toRecord(
  item: ApiKeyRecord & {
    pk?: string;
    sk?: string;
    gsi1pk?: string;
    gsi1sk?: string;
    heldQuota?: number;
  },
): ApiKeyRecord {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, heldQuota: _held, ...record } = item;
  return record;
}
