import { hashSecret, maskSecret } from "../auth/secrets";
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
    return this.table.get<ApiKeyRecord>(apiKeyKey(id), consistent);
  }

  async findBySecret(secret: string): Promise<ApiKeyRecord | undefined> {
    return this.get(hashSecret(secret));
  }

  async create(
    secret: string,
    fields: Pick<ApiKeyRecord, "userId" | "name"> & Partial<ApiKeyRecord>,
  ): Promise<ApiKeyRecord> {
    const now = Math.floor(Date.now() / 1000);
    const record: ApiKeyRecord = {
      status: "enabled",
      createdTime: now,
      accessedTime: now,
      expiredTime: -1,
      remainQuota: 0,
      unlimitedQuota: true,
      usedQuota: 0,
      models: null,
      ...fields,
      id: hashSecret(secret),
      masked: maskSecret(secret),
    };
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
}
