import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { randomString } from "../../shared/auth/secrets";
import {
  CREDENTIALS,
  type CredentialKind,
  CredentialTags,
  credentialShape,
  hasValidTag,
  issueCredential,
} from "../../shared/auth/tags";

const SECRET = randomBytes(32);
const KINDS = Object.keys(CREDENTIALS) as CredentialKind[];
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** The credential with the character at `index` replaced by each other character of the alphabet. */
function variants(credential: string, index: number): string[] {
  return [...ALPHABET]
    .filter((ch) => ch !== credential[index])
    .map((ch) => credential.slice(0, index) + ch + credential.slice(index + 1));
}

describe("credential check tags", () => {
  it.each(KINDS)("issues %s credentials that are tagged, valid and all different", (kind) => {
    const issued = new Set(Array.from({ length: 500 }, () => issueCredential(kind, SECRET)));
    expect(issued.size).toBe(500);
    const { prefix } = CREDENTIALS[kind];
    for (const credential of issued) {
      expect(credential.startsWith(prefix)).toBe(true);
      expect(credential.slice(prefix.length)).toMatch(/^[A-Za-z0-9]{52}$/);
      expect(credentialShape(kind, credential)).toBe("tagged");
      expect(hasValidTag(kind, credential, SECRET)).toBe(true);
    }
  });

  it.each(KINDS)("refuses a %s credential with any single character changed", (kind) => {
    const credential = issueCredential(kind, SECRET);
    const start = CREDENTIALS[kind].prefix.length;
    for (let index = start; index < credential.length; index++) {
      for (const changed of variants(credential, index)) {
        expect(hasValidTag(kind, changed, SECRET), changed).toBe(false);
      }
    }
  });

  it("refuses a tag made under another secret, or for another kind of credential", () => {
    const key = issueCredential("key", SECRET);
    expect(hasValidTag("key", key, randomBytes(32))).toBe(false);
    const session = issueCredential("session", SECRET);
    expect(hasValidTag("key", `sk-${session}`, SECRET)).toBe(false);
    expect(hasValidTag("accessToken", `sat-${session}`, SECRET)).toBe(false);
  });

  it("tells the format issued before tags from malformed credentials", () => {
    expect(credentialShape("key", `sk-${randomString(48)}`)).toBe("legacy");
    expect(credentialShape("accessToken", `sat-${randomString(40)}`)).toBe("legacy");
    expect(credentialShape("session", randomString(43))).toBe("legacy");
    for (const malformed of [
      "",
      "sk-",
      `sk-${randomString(47)}`,
      `sk-${randomString(49)}`,
      `sk-${randomString(51)}`,
      `sk-${randomString(47)}-`,
      `sk-${randomString(51)}é`,
      `sat-${randomString(48)}`,
      `sk_${randomString(48)}`,
      `${randomString(48)}`,
    ]) {
      expect(credentialShape("key", malformed), malformed).toBe("malformed");
    }
  });
});

describe("CredentialTags", () => {
  it("loads the secret once, and again after a failed load", async () => {
    let loads = 0;
    let fail = true;
    const tags = new CredentialTags(async () => {
      loads++;
      if (fail) throw new Error("table unreachable");
      return { secret: SECRET, legacy: false };
    }, true);
    // An operator's explicit setting needs no secret to decide a legacy credential.
    expect(await tags.plausible("key", `sk-${randomString(48)}`)).toBe(true);
    expect(await tags.plausible("key", "sk-short")).toBe(false);
    expect(loads).toBe(0);
    await expect(tags.issue("key")).rejects.toThrow("table unreachable");
    fail = false;
    const key = await tags.issue("key");
    expect(await tags.plausible("key", key)).toBe(true);
    expect(await tags.plausible("key", `${key.slice(0, -1)}${key.endsWith("A") ? "B" : "A"}`)).toBe(
      false,
    );
    expect(loads).toBe(2);
  });

  it("refuses the format issued before tags when told to", async () => {
    const tags = new CredentialTags(async () => ({ secret: SECRET, legacy: true }), false);
    expect(await tags.plausible("key", `sk-${randomString(48)}`)).toBe(false);
    expect(await tags.plausible("accessToken", `sat-${randomString(40)}`)).toBe(false);
    expect(await tags.plausible("key", await tags.issue("key"))).toBe(true);
  });

  it.each([
    [false, false],
    [true, true],
  ])(
    "without a setting, follows the stack's record (old credentials may exist: %s) and reads it once",
    async (legacy, accepted) => {
      let loads = 0;
      const tags = new CredentialTags(async () => {
        loads++;
        return { secret: SECRET, legacy };
      });
      for (let i = 0; i < 100; i++) {
        expect(await tags.plausible("key", `sk-${randomString(48)}`)).toBe(accepted);
        expect(await tags.plausible("session", randomString(43))).toBe(accepted);
      }
      expect(loads).toBe(1);
    },
  );
});
