import { hashPassword } from "./auth/passwords";
import { newId, newPasswordSecret } from "./auth/secrets";
import type { Services } from "./services";
import type { ApiKeyRecord } from "./store/api-keys";
import { type NewAccessToken, newUserProfile, type UserProfile } from "./store/users";

/**
 * First-run setup shared by `npm start` and the deploy-time CLI: an admin user with a
 * system access token and a password to sign in to the console with (both shown once),
 * and optionally a key to try the API with.
 */
export async function createAdmin(
  services: Pick<Services, "users" | "tags" | "settings">,
  name = "admin",
  /** The access token's name, and where it is kept (store/access-tokens.ts). */
  token: Pick<NewAccessToken, "name" | "via"> = { name: "admin", via: "admin" },
): Promise<{ user: UserProfile; accessToken: string; password: string }> {
  const password = newPasswordSecret();
  const user = newUserProfile({
    id: newId("user_", 16),
    name,
    role: "admin",
    passwordHash: await hashPassword(password, services.settings.console.passwordCost),
  });
  const accessToken = await services.tags.issue("accessToken");
  await services.users.create(user, { secret: accessToken, ...token });
  return { user, accessToken, password };
}

/** A new key; KeyCapReached when its user has `maxKeys` already (0: no cap). */
export async function createKey(
  services: Pick<Services, "apiKeys" | "tags">,
  fields: Pick<ApiKeyRecord, "userId" | "name"> & Partial<ApiKeyRecord>,
  maxKeys = 0,
): Promise<{ key: ApiKeyRecord; secret: string }> {
  const secret = await services.tags.issue("key");
  const key = await services.apiKeys.create(secret, fields, maxKeys);
  return { key, secret };
}
