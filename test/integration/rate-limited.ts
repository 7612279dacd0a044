/**
 * Users and keys under rate limits, and what their items hold (rate-limits.test.ts, and the
 * janitor's test of them in crash.test.ts).
 */
import { expect } from "vitest";
import { accountKey } from "../../shared/store/accounts";
import { apiKeyKey } from "../../shared/store/api-keys";
import {
  api,
  createKey,
  createUser,
  editPricing,
  eventually,
  type Json,
  settledAccount,
  sluiceTable,
  type TestUser,
} from "./support";

/** A group of its own with these limits per key (and per user), and a user in it with a key. */
export async function limitedUser(
  limits: Record<string, number>,
  keyFields: Record<string, unknown> = {},
  userLimits?: Record<string, number>,
) {
  const group = await limitedGroup(limits, userLimits);
  const user = await createUser({ paidUsd: 1, group });
  const key = await createKey(user, keyFields);
  return { user, key, group };
}

/** A group of its own: `limits` each key's, `userLimits` each user's. */
export async function limitedGroup(
  limits: Record<string, number>,
  userLimits?: Record<string, number>,
): Promise<string> {
  const group = `rl-${Math.random().toString(36).slice(2, 8)}`;
  await editPricing((current) => ({
    group_rate_limits: { ...current.group_rate_limits, [group]: limits },
    ...(userLimits
      ? { group_user_rate_limits: { ...current.group_user_rate_limits, [group]: userLimits } }
      : {}),
  }));
  return group;
}

export async function keyItem(keyId: string): Promise<Record<string, unknown>> {
  return (await sluiceTable().get<Record<string, unknown>>(apiKeyKey(keyId), true)) ?? {};
}

export async function accountItem(userId: string): Promise<Record<string, unknown>> {
  return (await sluiceTable().get<Record<string, unknown>>(accountKey(userId), true)) ?? {};
}

/** The user's calls in the usage log (not top-ups). */
export async function logLines(token: string): Promise<Json[]> {
  const lines = (await api(token, "GET", "/api/log/self?size=200")).body.data;
  return lines.filter((line: Json) => line.type === "consume");
}

/** The key's calls in flight (its item's holds), once every settlement has landed. */
export async function inFlightSettled(
  keyId: string,
  count: number,
): Promise<Record<string, unknown>> {
  return eventually(
    () => keyItem(keyId),
    (item) => Object.keys(item).filter((name) => name.startsWith("h_")).length === count,
  );
}

/**
 * Once every hold has settled: the account holds nothing and counts no call in flight, and
 * neither does any of `keyIds`. A refused, failed or abandoned call must leave no count.
 */
export async function nothingLeftInFlight(user: TestUser, keyIds: string[] = []) {
  const account = await settledAccount(user.id);
  expect(account).toMatchObject({ hn: 0 });
  expect(account.cn ?? 0).toBe(0);
  for (const keyId of keyIds) {
    const key = await inFlightSettled(keyId, 0);
    expect(key.hn ?? 0).toBe(0);
  }
  return account;
}
