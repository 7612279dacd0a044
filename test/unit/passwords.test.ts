import { describe, expect, it } from "vitest";
import { hashPassword, verifyDecoy, verifyPassword } from "../../shared/auth/passwords";
import { loadSettings } from "../../shared/config/settings";

describe("passwords", () => {
  it("hash at the cost asked for, which the hash records", async () => {
    const hash = await hashPassword("correct horse", 10);
    expect(hash).toMatch(/^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct horsf", hash)).toBe(false);
  });

  it("check a stored hash at its own cost, whatever new hashes are made at", async () => {
    const older = await hashPassword("correct horse", 11);
    expect(older.split("$")[1]).toBe("2048");
    expect(await verifyPassword("correct horse", older)).toBe(true);
  });

  it("never match the decoy, a malformed hash or another scheme", async () => {
    expect(await verifyDecoy("not a password", 10)).toBe(false);
    expect(await verifyPassword("x", "scrypt$1024$8$1$$")).toBe(false);
    expect(await verifyPassword("x", "bcrypt$whatever")).toBe(false);
  });

  it("are hashed at N = 2^15 unless SLUICE_PASSWORD_COST says otherwise, from 10 to 20", () => {
    expect(loadSettings({}).console.passwordCost).toBe(15);
    expect(loadSettings({ SLUICE_PASSWORD_COST: "10" }).console.passwordCost).toBe(10);
    expect(() => loadSettings({ SLUICE_PASSWORD_COST: "9" })).toThrow(/from 10 to 20/);
    expect(() => loadSettings({ SLUICE_PASSWORD_COST: "21" })).toThrow(/from 10 to 20/);
  });
});
