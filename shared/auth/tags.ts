import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { TagSecret } from "../store/tag-secret";
import { randomString } from "./secrets";

/**
 * The credentials sluice issues, by their prefix and the length of the random body that those
 * issued before check tags had (`sk-` and 48 characters, `sat-` and 40, sessions 43).
 */
export const CREDENTIALS = {
  key: { prefix: "sk-", legacyLength: 48 },
  accessToken: { prefix: "sat-", legacyLength: 40 },
  session: { prefix: "", legacyLength: 43 },
} as const;
export type CredentialKind = keyof typeof CREDENTIALS;

/** 40 random characters (about 238 bits), then a 12-character tag (about 71 bits). */
const RANDOM_LENGTH = 40;
const TAG_LENGTH = 12;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BODY = /^[A-Za-z0-9]+$/;

/**
 * `tagged`: the new format, whose tag can be checked without a read; `legacy`: the format of
 * those issued before tags, which only a read can tell; `malformed`: neither, never issued.
 */
export type CredentialShape = "tagged" | "legacy" | "malformed";

export function credentialShape(kind: CredentialKind, credential: string): CredentialShape {
  const { prefix, legacyLength } = CREDENTIALS[kind];
  if (!credential.startsWith(prefix)) return "malformed";
  const body = credential.slice(prefix.length);
  if (!BODY.test(body)) return "malformed";
  if (body.length === RANDOM_LENGTH + TAG_LENGTH) return "tagged";
  return body.length === legacyLength ? "legacy" : "malformed";
}

/** The tag of a credential's random part: HMAC-SHA256 under the server's secret, as characters. */
function tagOf(kind: CredentialKind, random: string, secret: Buffer): string {
  const mac = createHmac("sha256", secret).update(`${kind}:${random}`).digest();
  let tag = "";
  for (let i = 0; i < TAG_LENGTH; i++) tag += ALPHABET[(mac[i] as number) % ALPHABET.length];
  return tag;
}

/** A new credential of this kind: its prefix, 40 random characters and their tag. */
export function issueCredential(kind: CredentialKind, secret: Buffer): string {
  const random = randomString(RANDOM_LENGTH);
  return `${CREDENTIALS[kind].prefix}${random}${tagOf(kind, random, secret)}`;
}

/** Whether a credential of the tagged shape carries the right tag, compared in constant time. */
export function hasValidTag(kind: CredentialKind, credential: string, secret: Buffer): boolean {
  if (credentialShape(kind, credential) !== "tagged") return false;
  const body = credential.slice(CREDENTIALS[kind].prefix.length);
  const expected = Buffer.from(tagOf(kind, body.slice(0, RANDOM_LENGTH), secret));
  return timingSafeEqual(expected, Buffer.from(body.slice(RANDOM_LENGTH)));
}

/**
 * Issues credentials with a check tag, and tells, before any lookup, a credential that cannot
 * exist. The server's secret is loaded once per process, when first needed, with the stack's
 * record of whether old-format credentials may exist on it.
 */
export class CredentialTags {
  private secret?: Promise<TagSecret>;

  constructor(
    private readonly loadSecret: () => Promise<TagSecret>,
    /**
     * Whether credentials of the format issued before tags are looked up (and cost a read when
     * unknown). Undefined: as the stack's secret records (tag-secret.ts), read once per process.
     */
    readonly acceptLegacy?: boolean,
  ) {}

  async issue(kind: CredentialKind): Promise<string> {
    return issueCredential(kind, (await this.key()).secret);
  }

  /** False for a credential sluice cannot have issued: it is refused without a lookup. */
  async plausible(kind: CredentialKind, credential: string): Promise<boolean> {
    switch (credentialShape(kind, credential)) {
      case "tagged":
        return hasValidTag(kind, credential, (await this.key()).secret);
      case "legacy":
        return this.acceptLegacy ?? (await this.key()).legacy;
      default:
        return false;
    }
  }

  /**
   * A 32-byte key for another purpose, derived from the server's secret by HKDF-SHA256 with
   * `purpose` as its info: what one purpose's key seals, another's cannot open.
   */
  async derivedKey(purpose: string): Promise<Buffer> {
    const { secret } = await this.key();
    return Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), purpose, 32));
  }

  /** Loads the server's secret now, as a cold instance's first call would (services' prime). */
  async load(): Promise<void> {
    await this.key();
  }

  private key(): Promise<TagSecret> {
    if (!this.secret) {
      const loading = this.loadSecret();
      this.secret = loading;
      // A failed load is tried again by the next caller.
      loading.catch(() => {
        if (this.secret === loading) this.secret = undefined;
      });
    }
    return this.secret;
  }
}
