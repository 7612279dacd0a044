import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import OpenAI from "openai";
import { inject } from "vitest";
import { newId } from "../../shared/auth/secrets";
import { createKey } from "../../shared/bootstrap";
import { createServices, type Services } from "../../shared/services";
import { type ChannelRecord, newChannelRecord } from "../../shared/store/channels";
import { Table } from "../../shared/store/table";
import { newUserRecord, type UserRecord } from "../../shared/store/users";
import { startUpstreamFixture, type UpstreamFixture } from "../fixtures/upstream";

export const sluice = inject("sluice");

let services: Services | undefined;

/** sluice's own stores, opened from the test process against the same DynamoDB Local. */
export function store(): Services {
  services ??= createServices({
    table: new Table(
      new DynamoDBClient({
        endpoint: sluice.dynamoEndpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "local", secretAccessKey: "local" },
      }),
      sluice.tableName,
    ),
  });
  return services;
}

/** The official SDK pointed at sluice; retries off so every test sees the first answer. */
export function openai(
  apiKey: string,
  options: Partial<ConstructorParameters<typeof OpenAI>[0]> = {},
): OpenAI {
  return new OpenAI({ baseURL: `${sluice.url}/v1`, apiKey, maxRetries: 0, ...options });
}

/** A user of its own with a key, so tests never share balances or keys. */
export async function createUserWithKey(
  user: Partial<UserRecord> = {},
  key: Parameters<typeof createKey>[1] extends infer K ? Partial<K> : never = {},
): Promise<{ user: UserRecord; secret: string; keyId: string }> {
  const record = newUserRecord({ id: newId("user_", 16), name: "test user", ...user });
  await store().users.create(record);
  const created = await createKey(store(), { userId: record.id, name: "test key", ...key });
  return { user: record, secret: created.secret, keyId: created.key.id };
}

/** An upstream fixture behind a channel of its own. */
export async function createFixtureChannel(
  options: { models?: string[]; channel?: Partial<ChannelRecord> } = {},
): Promise<{ upstream: UpstreamFixture; channel: ChannelRecord; model: string }> {
  const upstream = await startUpstreamFixture({ models: options.models });
  const channel = newChannelRecord({
    id: newId("ch_", 12),
    baseUrl: upstream.baseUrl,
    models: upstream.models,
    ...options.channel,
  });
  await store().channels.put(channel);
  return { upstream, channel, model: channel.models[0] as string };
}
