/**
 * Channels' provider keys are sealed in the table by the services' SecretBox (KMS on AWS)
 * and opened on the way out. KMS has no local emulator, so a box sealing with AES-GCM stands
 * in for it here: the store's part (what is written, what is read, keys stored before
 * sealing began) runs on DynamoDB in memory (held to DynamoDB Local's answers by
 * fixtures/dynamo-contract.ts), so no sealed channel is ever in the run's shared table, where
 * every other test's call would fail to open it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { PlainSecretBox, type SecretBox } from "../../shared/crypto/secret-box";
import { Channels, channelKey, newChannelRecord } from "../../shared/store/channels";
import { Table } from "../../shared/store/table";
import { MemoryDynamo } from "../fixtures/memory-dynamo/memory-dynamo";

const table = new Table(new MemoryDynamo(), "sluice");
const sluiceTable = () => table;

/** Seals like KmsSecretBox: a prefix and an opaque blob only the key's holder can open. */
class AesBox implements SecretBox {
  private readonly key = randomBytes(32);

  async seal(plain: string): Promise<string> {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const sealed = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    return `kms:v1:${Buffer.concat([iv, sealed]).toString("base64")}`;
  }

  async open(stored: string): Promise<string> {
    if (!stored.startsWith("kms:v1:")) return stored;
    const blob = Buffer.from(stored.slice(7), "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, blob.subarray(0, 12));
    decipher.setAuthTag(blob.subarray(-16));
    return Buffer.concat([decipher.update(blob.subarray(12, -16)), decipher.final()]).toString();
  }
}

describe("channel keys in the table", () => {
  const id = `sealed-${Math.random().toString(36).slice(2, 8)}`;
  const secret = "sk-provider-secret-0123456789";

  it("are written sealed and read opened", async () => {
    const channels = new Channels(sluiceTable(), new AesBox());
    const box = new AesBox();
    const sealedChannels = new Channels(sluiceTable(), box);
    await sealedChannels.put(
      newChannelRecord({ id, baseUrl: "https://upstream.example/v1", models: ["m"], key: secret }),
    );
    const raw = await sluiceTable().get<Record<string, unknown>>(channelKey(id), true);
    expect(String(raw?.key)).toMatch(/^kms:v1:/);
    expect(JSON.stringify(raw)).not.toContain(secret);
    expect((await sealedChannels.get(id))?.key).toBe(secret);
    expect((await sealedChannels.list()).find((c) => c.id === id)?.key).toBe(secret);
    // Another key cannot open it.
    await expect(channels.get(id)).rejects.toThrow();
    // A process without a key says why, rather than sending the ciphertext upstream.
    await expect(new Channels(sluiceTable(), new PlainSecretBox()).get(id)).rejects.toThrow(
      /SLUICE_CHANNEL_KEY_ID/,
    );
    await sealedChannels.delete(id);
  });

  it("stored before sealing began are read as they are, and sealed when next saved", async () => {
    const legacy = `${id}-legacy`;
    await sluiceTable().put({
      ...channelKey(legacy),
      ...newChannelRecord({ id: legacy, baseUrl: "https://u.example/v1", models: [], key: secret }),
    });
    const channels = new Channels(sluiceTable(), new AesBox());
    const read = await channels.get(legacy);
    expect(read?.key).toBe(secret);
    await channels.put({ ...(read as NonNullable<typeof read>), name: "renamed" });
    const raw = await sluiceTable().get<Record<string, unknown>>(channelKey(legacy), true);
    expect(String(raw?.key)).toMatch(/^kms:v1:/);
    expect((await channels.get(legacy))?.key).toBe(secret);
    await channels.delete(legacy);
  });
});
