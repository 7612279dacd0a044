import { hashSecret, maskSecret } from "../auth/secrets";
import { definedOnly } from "../objects";
import type { Accounts } from "./accounts";
import { ConditionFailed, type Item, type ItemKey, type Table } from "./table";

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
  /** Overrides of the group's rate limits, set by an admin (see billing/rate-limits.ts). */
  rateLimits?: { rpm?: number | null; tpm?: number | null; concurrency?: number | null };
}

export const apiKeyKey = (id: string) => ({ pk: `KEY#${id}`, sk: "KEY" });
const userKeysIndex = (userId: string) => `USER#${userId}#KEYS`;

export class ApiKeys {
  constructor(
    private readonly table: Table,
    private readonly accounts: Accounts,
  ) {}

  async get(id: string, consistent = false): Promise<ApiKeyRecord | undefined> {
    const item = await this.table.get(apiKeyKey(id), consistent);
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

  /** A user's keys, newest first (the index holds keys only: the items are read after). */
  async listByUser(userId: string): Promise<ApiKeyRecord[]> {
    const keys = await this.table.queryAll<ItemKey>({
      index: "gsi1",
      keyCondition: "gsi1pk = :pk",
      values: { ":pk": userKeysIndex(userId) },
      ascending: false,
    });
    const items = await this.table.batchGet<ApiKeyRecord & Item>(
      keys.map(({ pk, sk }) => ({ pk, sk })),
    );
    return items.map(toRecord);
  }

  /**
   * Changes the editable fields of a key that belongs to `userId`. A new remain_quota goes
   * through the accounts store, which owns the allowance (it is net of holds in flight).
   */
  async update(
    id: string,
    userId: string,
    fields: Partial<
      Pick<
        ApiKeyRecord,
        | "name"
        | "status"
        | "remainQuota"
        | "unlimitedQuota"
        | "expiredTime"
        | "models"
        | "rateLimits"
      >
    >,
  ): Promise<ApiKeyRecord> {
    const { remainQuota, ...plain } = fields;
    const entries = Object.entries(plain).filter(([, v]) => v !== undefined);
    const names: Record<string, string> = { "#user": "userId" };
    const values: Record<string, unknown> = { ":user": userId };
    const sets = entries.map(([field, value], i) => {
      names[`#f${i}`] = field;
      values[`:v${i}`] = value;
      return `#f${i} = :v${i}`;
    });
    await this.table.update(apiKeyKey(id), {
      update: sets.length ? `SET ${sets.join(", ")}` : "SET #user = :user",
      condition: "attribute_exists(pk) AND #user = :user",
      names,
      values,
    });
    if (remainQuota !== undefined) await this.accounts.setKeyAllowance(id, remainQuota);
    const updated = await this.get(id, true);
    if (!updated) throw new ConditionFailed();
    return updated;
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

/** The record without the table's attributes and the ledger's (holds, the rollups' watermark). */
function toRecord(item: Item): ApiKeyRecord {
  const record: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!LEDGER_ATTRIBUTE.test(name)) record[name] = value;
  }
  return record as unknown as ApiKeyRecord;
}

const LEDGER_ATTRIBUTE = /^(pk|sk|gsi1pk|gsi1sk|hpk|hsk|hn|hq|ss|rw|rr|rt|h_.*)$/;
