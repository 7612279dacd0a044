import { get, setCsrf, type User } from "./api";
import { store } from "./store";

/** The signed-in user, or null. */
export const session = store<User | null>(null);

export function signedIn(user: User): void {
  setCsrf(user.csrf_token);
  session.set(user);
}

/** Reads the session's user again (balances change); null when signed out. */
export async function refreshUser(): Promise<User | null> {
  try {
    const { data } = await get<User>("/api/user/self");
    signedIn(data);
    return data;
  } catch {
    return session.get();
  }
}

export function displayName(user: Pick<User, "username" | "name" | "id">): string {
  return user.username || user.name || user.id;
}
