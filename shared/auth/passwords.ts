import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/**
 * Passwords, hashed with scrypt (memory-hard: at the default cost N = 2^15, 2^15 × 8 × 128
 * bytes = 32 MiB and about 50 ms a hash), stored as `scrypt$N$r$p$salt$hash` so the cost can
 * be raised later and old hashes still check.
 */
const R = 8;
const P = 1;
const KEY_BYTES = 32;
const MAX_MEMORY = 64 * 1024 * 1024;

/** A new hash of `password` at N = 2^cost (settings.console.passwordCost). */
export async function hashPassword(password: string, cost: number): Promise<string> {
  const n = 2 ** cost;
  const salt = randomBytes(16);
  const hash = await derive(password, salt, n, R, P);
  return ["scrypt", n, R, P, salt.toString("base64url"), hash.toString("base64url")].join("$");
}

/** Whether `password` matches `stored`; a malformed stored hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64url");
  const actual = await derive(
    password,
    Buffer.from(salt, "base64url"),
    Number(n),
    Number(r),
    Number(p),
  );
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * A hash of nothing, checked when a sign-in names no known user: at the cost new hashes are
 * made at, it takes as long as a real check, so the answer's timing does not tell which
 * usernames exist.
 */
const decoys = new Map<number, Promise<string>>();
export async function verifyDecoy(password: string, cost: number): Promise<false> {
  let decoy = decoys.get(cost);
  if (!decoy) {
    decoy = hashPassword("not a password", cost);
    decoys.set(cost, decoy);
  }
  await verifyPassword(password, await decoy);
  return false;
}

function derive(password: string, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(
      password.normalize("NFKC"),
      salt,
      KEY_BYTES,
      { N: n, r, p, maxmem: MAX_MEMORY },
      (err, key) => (err ? reject(err) : resolve(key)),
    ),
  );
}
