import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  connection,
  credentialsPath,
  NotSignedIn,
  writeCredentials,
} from "../../infra/cli/credentials";

/** An environment whose config directory is a fresh one, holding `entries`. */
function withStored(entries: Record<string, string>) {
  const env: Record<string, string | undefined> = {
    XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), "sluice-cred-")),
  };
  writeCredentials(
    env,
    Object.fromEntries(
      Object.entries(entries).map(([url, token]) => [url, { token, name: "cli@x", user: "u" }]),
    ),
  );
  return env;
}

describe("the CLI's credentials", () => {
  it("are kept under XDG_CONFIG_HOME (else HOME/.config), 0600 in a 0700 directory", () => {
    const env = withStored({ "https://a.example": "sat-a" });
    const path = credentialsPath(env);
    expect(path).toBe(join(env.XDG_CONFIG_HOME as string, "sluice", "credentials.json"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, "..")).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(path, "utf8"))["https://a.example"].token).toBe("sat-a");
    expect(credentialsPath({ HOME: "/home/op" })).toBe("/home/op/.config/sluice/credentials.json");
  });

  it("take --token over SLUICE_ADMIN_TOKEN over the stored one; the only stored URL is the default", () => {
    const env = withStored({ "https://a.example": "sat-a" });
    expect(connection({}, env)).toEqual({
      url: "https://a.example",
      token: "sat-a",
      source: "stored",
    });
    expect(connection({}, { ...env, SLUICE_ADMIN_TOKEN: "sat-env" })).toMatchObject({
      token: "sat-env",
      source: "env",
    });
    expect(
      connection({ token: "sat-opt" }, { ...env, SLUICE_ADMIN_TOKEN: "sat-env" }),
    ).toMatchObject({ token: "sat-opt", source: "option" });
    // A trailing slash names the same site.
    expect(connection({ url: "https://a.example/" }, env).token).toBe("sat-a");
  });

  it("never send a stored token to another URL, and say which URL when several are stored", () => {
    const env = withStored({ "https://a.example": "sat-a", "https://b.example": "sat-b" });
    expect(connection({ url: "https://b.example" }, env).token).toBe("sat-b");
    expect(() => connection({ url: "https://c.example" }, env)).toThrow(
      /Not signed in to https:\/\/c.example: run `sluice login --url https:\/\/c.example`/,
    );
    expect(() => connection({}, env)).toThrow(NotSignedIn);
    expect(() => connection({}, env)).toThrow(
      /stored for https:\/\/a.example, https:\/\/b.example/,
    );
  });
});
