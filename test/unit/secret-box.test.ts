import type { KMSClient } from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { KmsSecretBox } from "../../shared/crypto/secret-box";

/**
 * KMS as far as sealing goes: a ciphertext opens only under the encryption context it was
 * sealed with (KMS answers InvalidCiphertextException otherwise).
 */
function fakeKms() {
  const contexts: unknown[] = [];
  const client = {
    async send(command: { input: Record<string, unknown> }) {
      const { EncryptionContext: context, Plaintext, CiphertextBlob } = command.input;
      contexts.push(context);
      const purpose = (context as { purpose: string }).purpose;
      if (Plaintext) {
        const text = new TextDecoder().decode(Plaintext as Uint8Array);
        return { CiphertextBlob: new TextEncoder().encode(`${purpose}|${text}`) };
      }
      const [sealedFor, text] = new TextDecoder().decode(CiphertextBlob as Uint8Array).split("|");
      if (sealedFor !== purpose) {
        const err = new Error("InvalidCiphertextException");
        err.name = "InvalidCiphertextException";
        throw err;
      }
      return { Plaintext: new TextEncoder().encode(text) };
    },
  };
  return { client: client as unknown as KMSClient, contexts };
}

describe("KmsSecretBox", () => {
  it("binds each secret to its purpose: a site secret does not open as a channel key", async () => {
    const kms = fakeKms();
    const box = new KmsSecretBox(async () => kms.client, "arn:aws:kms:us-east-1:1:key/k");
    const channelKey = await box.seal("sk-provider");
    const siteSecret = await box.seal("0x4AAAA-secret", "sluice-site-secret");
    expect(channelKey).toMatch(/^kms:v1:/);
    expect(siteSecret).toMatch(/^kms:v1:/);
    expect(await box.open(channelKey)).toBe("sk-provider");
    expect(await box.open(siteSecret, "sluice-site-secret")).toBe("0x4AAAA-secret");
    await expect(box.open(siteSecret)).rejects.toThrow("InvalidCiphertextException");
    await expect(box.open(channelKey, "sluice-site-secret")).rejects.toThrow(
      "InvalidCiphertextException",
    );
    expect(kms.contexts[0]).toEqual({ purpose: "sluice-channel-key" });
    expect(kms.contexts[1]).toEqual({ purpose: "sluice-site-secret" });
  });
});
