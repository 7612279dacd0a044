import type { KMSClient } from "@aws-sdk/client-kms";

/**
 * What a sealed secret is for, bound into its ciphertext (KMS's encryption context): a
 * sealed channel key opens as nothing else, and a site secret opens as no channel key.
 */
export type SealPurpose = "sluice-channel-key" | "sluice-site-secret";

/**
 * Seals the secrets sluice keeps in its table (channels' provider keys, the site's Turnstile
 * secret), so that a role that can read the table cannot read them: on AWS with a KMS key that
 * only the functions that call upstreams may use.
 */
export interface SecretBox {
  seal(plain: string, purpose?: SealPurpose): Promise<string>;
  /** A sealed value opened; a value stored before sealing began, as it is. */
  open(stored: string, purpose?: SealPurpose): Promise<string>;
}

const KMS_PREFIX = "kms:v1:";

/** Seals with AWS KMS (Encrypt/Decrypt under one key, with an encryption context). */
export class KmsSecretBox implements SecretBox {
  constructor(
    private readonly client: () => Promise<KMSClient>,
    private readonly keyId: string,
  ) {}

  async seal(plain: string, purpose: SealPurpose = "sluice-channel-key"): Promise<string> {
    if (!plain) return plain;
    const { EncryptCommand } = await import("@aws-sdk/client-kms");
    const kms = await this.client();
    const out = await kms.send(
      new EncryptCommand({
        KeyId: this.keyId,
        Plaintext: new TextEncoder().encode(plain),
        EncryptionContext: { purpose },
      }),
    );
    if (!out.CiphertextBlob) throw new Error("KMS returned no ciphertext");
    return KMS_PREFIX + Buffer.from(out.CiphertextBlob).toString("base64");
  }

  async open(stored: string, purpose: SealPurpose = "sluice-channel-key"): Promise<string> {
    if (!stored.startsWith(KMS_PREFIX)) return stored;
    const { DecryptCommand } = await import("@aws-sdk/client-kms");
    const kms = await this.client();
    const out = await kms.send(
      new DecryptCommand({
        CiphertextBlob: Buffer.from(stored.slice(KMS_PREFIX.length), "base64"),
        EncryptionContext: { purpose },
      }),
    );
    if (!out.Plaintext) throw new Error("KMS returned no plaintext");
    return new TextDecoder().decode(out.Plaintext);
  }
}

/** No key configured (the local stack): secrets are kept as given. */
export class PlainSecretBox implements SecretBox {
  async seal(plain: string): Promise<string> {
    return plain;
  }

  async open(stored: string): Promise<string> {
    if (stored.startsWith(KMS_PREFIX)) {
      throw new Error(
        "A secret is sealed with KMS, but this process has no key (SLUICE_CHANNEL_KEY_ID).",
      );
    }
    return stored;
  }
}
