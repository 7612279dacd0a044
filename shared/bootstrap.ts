import { newAccessToken, newApiKey, newId } from "./auth/secrets";
import type { Services } from "./services";
import type { ApiKeyRecord } from "./store/api-keys";
import { newUserProfile, type UserProfile } from "./store/users";

/**
 * First-run setup shared by `npm start` and the deploy-time CLI: an admin user with a
 * system access token, and optionally a key to try the API with.
 */
export async function createAdmin(
  services: Pick<Services, "users">,
  name = "admin",
): Promise<{ user: UserProfile; accessToken: string }> {
  const user = newUserProfile({ id: newId("user_", 16), name, role: "admin" });
  const accessToken = newAccessToken();
  await services.users.create(user, accessToken);
  return { user, accessToken };
}

export async function createKey(
  services: Pick<Services, "apiKeys">,
  fields: Pick<ApiKeyRecord, "userId" | "name"> & Partial<ApiKeyRecord>,
): Promise<{ key: ApiKeyRecord; secret: string }> {
  const secret = newApiKey();
  const key = await services.apiKeys.create(secret, fields);
  return { key, secret };
}
