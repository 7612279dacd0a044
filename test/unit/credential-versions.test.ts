import { describe, expect, it } from "vitest";
import { CredentialVersions } from "../../shared/auth/credential-versions";
import { newUserProfile } from "../../shared/store/users";

const user = (id: string, sessionVersion: number, tokenVersion?: number) =>
  newUserProfile({ id, name: id, sessionVersion, tokenVersion });

describe("CredentialVersions", () => {
  it("outdates a token or session cached from before a newer record was read", () => {
    const versions = new CredentialVersions();
    const cached = user("u1", 2, 5);
    expect(versions.tokenOutdated(cached)).toBe(false);
    expect(versions.sessionOutdated("u1", 2)).toBe(false);
    // A new access token (the token's version only).
    versions.note("u1", { sessionVersion: 2, tokenVersion: 6 });
    expect(versions.tokenOutdated(cached)).toBe(true);
    expect(versions.sessionOutdated("u1", 2)).toBe(false);
    // A password change (both).
    versions.note("u1", { sessionVersion: 3, tokenVersion: 7 });
    expect(versions.sessionOutdated("u1", 2)).toBe(true);
    expect(versions.sessionOutdated("u1", 3)).toBe(false);
    expect(versions.tokenOutdated(user("u1", 3, 7))).toBe(false);
    // Other users are not touched.
    expect(versions.tokenOutdated(user("u2", 0))).toBe(false);
  });

  it("never goes back to older versions (an eventually consistent read of before)", () => {
    const versions = new CredentialVersions();
    versions.note("u1", { sessionVersion: 4, tokenVersion: 4 });
    versions.note("u1", { sessionVersion: 1 });
    expect(versions.sessionOutdated("u1", 3)).toBe(true);
    expect(versions.tokenOutdated(user("u1", 4, 3))).toBe(true);
  });

  it("keeps at most its bound of users, forgetting the least recently noted", () => {
    const versions = new CredentialVersions(2);
    versions.note("a", { sessionVersion: 1 });
    versions.note("b", { sessionVersion: 1 });
    versions.note("a", { sessionVersion: 1 });
    versions.note("c", { sessionVersion: 1 });
    expect(versions.sessionOutdated("a", 0)).toBe(true);
    expect(versions.sessionOutdated("b", 0)).toBe(false);
    expect(versions.sessionOutdated("c", 0)).toBe(true);
  });
});
