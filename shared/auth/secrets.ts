import { createHash, randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Uniform random characters from ALPHABET (rejection sampling, so no modulo bias). */
export function randomString(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** A generated password (the first admin's): 20 random characters, about 119 bits. */
export function newPasswordSecret(): string {
  return randomString(20);
}

/** Keys and tokens are stored only as their SHA-256. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

/** `sk-YZ12…466d`: enough to recognise a key, never enough to use it. */
export function maskSecret(secret: string): string {
  const dash = secret.indexOf("-") + 1;
  const body = secret.slice(dash);
  if (body.length <= 8) return `${secret.slice(0, dash)}…`;
  return `${secret.slice(0, dash)}${body.slice(0, 4)}…${body.slice(-4)}`;
}

export function newId(prefix: string, length = 24): string {
  return `${prefix}${randomString(length)}`;
}
