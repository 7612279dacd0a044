import { hashSecret, maskSecret } from "../auth/secrets";
import { type Clock, systemClock } from "../clock";
import { definedOnly } from "../objects";
import { Accounts } from "./accounts";
import { apiKeyKey, byCreation, INDEX, userKey } from "./keys";
import {
  ConditionFailed,
  type Item,
  type ItemKey,
  setFields,
  type Table,
  type TransactOp,
} from "./table";

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

/** Tests read a key's item by it. */
export { apiKeyKey };

export class ApiKeys {
  constructor(
    private readonly table: Table,
    private readonly accounts: Accounts,
    private readonly clock: Clock = systemClock,
  ) {}

  async get(id: string, consistent = false): Promise<ApiKeyRecord | undefined> {
    const item = await this.table.get(apiKeyKey(id), consistent);
    return item && toRecord(item);
  }

  async findBySecret(secret: string): Promise<ApiKeyRecord | undefined> {
    return this.get(hashSecret(secret));
  }

  /**
   * Stores a new key, and counts it on its user's profile (kn) in the same transaction, on
   * condition that the count is under `maxKeys` (0: no cap): however many creations race,
   * none passes the cap. KeyCapReached when the user has that many keys.
   */
  async create(
    secret: string,
    fields: Pick<ApiKeyRecord, "userId" | "name"> & Partial<ApiKeyRecord>,
    maxKeys = 0,
  ): Promise<ApiKeyRecord> {
    const record = newApiKeyRecord(secret, fields, this.clock.seconds());
    const { remainQuota, usedQuota, ...plain } = record;
    const put: TransactOp = {
      put: {
        ...apiKeyKey(record.id),
        gsi1pk: INDEX.userKeys(record.userId),
        gsi1sk: byCreation(record.createdTime, record.id),
        ...plain,
        ...Accounts.createKey(remainQuota, usedQuota),
      },
      condition: "attribute_not_exists(pk)",
    };
    const count: TransactOp = {
      key: userKey(record.userId),
      update: "ADD kn :one",
      condition: maxKeys > 0 ? "kn < :cap" : "attribute_exists(kn)",
      values: { ":one": 1, ...(maxKeys > 0 ? { ":cap": maxKeys } : {}) },
    };
    for (let attempt = 1; ; attempt++) {
      try {
        await this.table.transact([put, count]);
        return record;
      } catch (err) {
        if (!(err instanceof ConditionFailed) || err.reasons[1] !== "ConditionalCheckFailed")
          throw err;
        const profile = await this.table.get(userKey(record.userId), true);
        if (!profile) throw new Error(`user ${record.userId} does not exist`);
        if (typeof profile.kn === "number" || attempt >= 3) throw new KeyCapReached(maxKeys);
        await this.startCount(record.userId);
      }
    }
  }

  /**
   * Counts a user's keys made before keys were counted, once, from the keys index (which
   * follows by a moment: a key made in that moment goes uncounted).
   */
  private async startCount(userId: string): Promise<void> {
    const keys = await this.table.queryAll<ItemKey>({
      index: "gsi1",
      keyCondition: "gsi1pk = :pk",
      values: { ":pk": INDEX.userKeys(userId) },
    });
    try {
      await this.table.update(userKey(userId), {
        update: "SET kn = :n",
        condition: "attribute_exists(pk) AND attribute_not_exists(kn)",
        values: { ":n": keys.length },
      });
    } catch (err) {
      if (!(err instanceof ConditionFailed)) throw err;
    }
  }

  /** A user's keys, newest first (the index holds keys only: the items are read after). */
  async listByUser(userId: string): Promise<ApiKeyRecord[]> {
    const keys = await this.table.queryAll<ItemKey>({
      index: "gsi1",
      keyCondition: "gsi1pk = :pk",
      values: { ":pk": INDEX.userKeys(userId) },
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
    const { assignments, names, values } = setFields(plain);
    await this.table.update(apiKeyKey(id), {
      update: assignments.length ? `SET ${assignments.join(", ")}` : "SET #user = :user",
      condition: "attribute_exists(pk) AND #user = :user",
      names: { ...names, "#user": "userId" },
      values: { ...values, ":user": userId },
    });
    if (remainQuota !== undefined) await this.accounts.setKeyAllowance(id, remainQuota);
    const updated = await this.get(id, true);
    if (!updated) throw new ConditionFailed();
    return updated;
  }

  /** Deletes a key of `userId`'s, and takes it off their count (ConditionFailed if none). */
  async delete(id: string, userId: string): Promise<void> {
    const mine = {
      condition: "attribute_exists(pk) AND userId = :user",
      values: { ":user": userId },
    };
    try {
      await this.table.transact([
        { delete: apiKeyKey(id), ...mine },
        {
          key: userKey(userId),
          update: "ADD kn :minus",
          condition: "attribute_exists(kn)",
          values: { ":minus": -1 },
        },
      ]);
    } catch (err) {
      if (!(err instanceof ConditionFailed) || err.reasons[0] === "ConditionalCheckFailed")
        throw err;
      // The user's keys are not counted yet: the count starts from the index when needed.
      await this.table.delete(apiKeyKey(id), { ...mine, explainFailure: true }).catch((failed) => {
        // Gone: the caller found it theirs just before, so this delete's first attempt took it
        // (its answer lost), or another delete of theirs did.
        if (!(failed instanceof ConditionFailed) || failed.item) throw failed;
      });
    }
  }
}

/** The user has as many keys as one may (SLUICE_MAX_KEYS_PER_USER). */
export class KeyCapReached extends Error {
  constructor(readonly maxKeys: number) {
    super(`at most ${maxKeys} keys per user`);
    this.name = "KeyCapReached";
  }
}

/** A new key's record: stored by its secret's hash, shown masked, unlimited unless told. */
export function newApiKeyRecord(
  secret: string,
  fields: Pick<ApiKeyRecord, "userId" | "name"> & Partial<ApiKeyRecord>,
  /** When it is made (unix seconds). */
  now = systemClock.seconds(),
): ApiKeyRecord {
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
