import { describe, expect, it } from "vitest";
import { hashSecret, maskSecret, randomString } from "../../shared/auth/secrets";
import { maskChannelSecret } from "../../shared/management/views";

describe("secrets", () => {
  it("draws characters without bias towards the start of the alphabet", () => {
    const counts = new Map<string, number>();
    for (const ch of randomString(62_000)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    for (const n of counts.values()) expect(n).toBeGreaterThan(800);
  });

  it("masks a key to its first and last four characters", () => {
    expect(maskSecret("sk-YZ12aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa466d")).toBe("sk-YZ12…466d");
    expect(maskSecret("sk-short")).toBe("sk-…");
  });

  it("masks a channel secret to at most a third of it", () => {
    expect(maskChannelSecret("sk-proj-abcdefghijklmnopqrstuvwxyz1234")).toBe("sk-…1234");
    expect(maskChannelSecret("abcdefghijklmnopqrstu")).toBe("abc…rstu");
    expect(maskChannelSecret("abcdefghijklmnopqrst")).toBe("…");
    expect(maskChannelSecret("")).toBe("");
  });

  it("hashes with SHA-256", () => {
    expect(hashSecret("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
  });
});
