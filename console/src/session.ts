import { currentSession, get, newSession, setCsrf, type User } from "./api";
import { store } from "./store";

/** The signed-in user, or null. */
export const session = store<User | null>(null);

/** A sign-in (or a password change, which signs this session in anew). */
export function signedIn(user: User): void {
  newSession();
  userUpdated(user);
}

/** What the session's user now is (a balance after a top-up): the same session. */
export function userUpdated(user: User): void {
  setCsrf(user.csrf_token);
  session.set(user);
}

export function signedOut(): void {
  newSession();
  session.set(null);
}

/** Reads the session's user again (balances change); null when signed out. */
export async function refreshUser(): Promise<User | null> {
  // An answer to a read made before a sign-in or sign-out tells of a session that is gone.
  const asked = currentSession();
  try {
    const { data } = await get<User>("/api/user/self");
    if (asked !== currentSession()) return session.get();
    userUpdated(data);
    return data;
  } catch {
    return session.get();
  }
}

export function displayName(user: Pick<User, "username" | "name" | "id">): string {
  return user.username || user.name || user.id;
}
