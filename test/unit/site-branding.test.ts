/**
 * The operator's brand (section `branding`, PUT /api/site/logo): a colour white text cannot be
 * read on is refused, the logo's type is taken from its bytes (SVG and everything but PNG,
 * JPEG and WebP refused, whatever the upload says), it is served as that type with nosniff and
 * a year's cache under its version, and `/api/status` carries name, logo, colour and footer in
 * the language asked for. The API runs in-process on DynamoDB in memory (fixtures/core.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { contrastWithWhite } from "../../shared/site/contrast";
import { type Core, startCore } from "../fixtures/core";

// biome-ignore lint/suspicious/noExplicitAny: JSON read by tests; every field used is asserted.
type Json = any;

let core: Core;
beforeAll(async () => {
  core = await startCore();
});

const auth = () => ({ authorization: `Bearer ${core.admin.accessToken}` });

async function put(path: string, body: unknown, headers: Record<string, string> = {}) {
  return core.call("PUT", path, { headers: { ...auth(), ...headers }, body });
}

const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f4c3f90000000049454e44ae426082",
  "hex",
);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(60, 1)]);
const WEBP = Buffer.concat([
  Buffer.from("RIFF"),
  Buffer.from([40, 0, 0, 0]),
  Buffer.from("WEBPVP8 "),
  Buffer.alloc(28, 2),
]);

describe("branding", () => {
  it("measures contrast as WCAG does", () => {
    expect(contrastWithWhite("#000000")).toBeCloseTo(21, 5);
    expect(contrastWithWhite("#ffffff")).toBeCloseTo(1, 5);
    // Published pairs: #767676 is the lightest grey that passes on white (4.54:1).
    expect(contrastWithWhite("#767676")).toBeGreaterThanOrEqual(4.5);
    expect(contrastWithWhite("#777777")).toBeLessThan(4.5);
  });

  it("refuses a colour white text cannot be read on, and badly formed ones, writing nothing", async () => {
    const before = (await core.call("GET", "/api/site/sections/branding", { headers: auth() })).body
      .data;
    for (const color of ["#777777", "#ffff00", "#fff", "red", "#12345g", "javascript:1"]) {
      const answer = await put("/api/site/sections/branding", { color });
      expect(answer.status, color).toBe(400);
      expect(answer.body.message, color).toMatch(/color/);
    }
    for (const body of [
      { name: "x".repeat(41) },
      { logo_version: "abc" },
      { footer: { fr: "Bonjour" } },
      { footer: "text" },
      { image_origins: ["http://images.example.com"] },
      { image_origins: ["https://images.example.com/path"] },
      { image_origins: ["https://user:pw@images.example.com"] },
      { image_origins: ["*"] },
    ]) {
      const answer = await put("/api/site/sections/branding", body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
    }
    expect(
      (await core.call("GET", "/api/site/sections/branding", { headers: auth() })).body.data,
    ).toEqual(before);
  });

  it("shows name, colour and footer in /api/status, in the language asked for", async () => {
    const saved = await put("/api/site/sections/branding", {
      name: "Acme <AI>",
      color: "#1D4ED8",
      footer: { en: "© Acme", zh: "© 艾克米" },
      image_origins: ["https://images.example.com/"],
    });
    expect(saved.status).toBe(200);
    expect(saved.body.data.fields).toMatchObject({
      name: "Acme <AI>",
      color: "#1d4ed8",
      image_origins: ["https://images.example.com"],
    });
    const en = (await core.call("GET", "/api/status?lang=en")).body.data;
    expect(en).toMatchObject({
      system_name: "Acme <AI>",
      theme_color: "#1d4ed8",
      footer: "© Acme",
      logo: null,
    });
    expect((await core.call("GET", "/api/status?lang=zh")).body.data.footer).toBe("© 艾克米");
    // A language without its own footer shows the other's.
    await put("/api/site/sections/branding", { footer: { zh: "只有中文" } });
    expect((await core.call("GET", "/api/status?lang=en")).body.data.footer).toBe("只有中文");
    // Reset to the defaults.
    await put("/api/site/sections/branding", { name: null, color: null, footer: null });
    expect((await core.call("GET", "/api/status")).body.data).toMatchObject({
      system_name: "sluice",
      theme_color: null,
      footer: null,
    });
  });
});

describe("the logo", () => {
  it("is taken as PNG, JPEG or WebP from its bytes, and served so, cacheable under its version", async () => {
    for (const [bytes, type] of [
      [JPEG, "image/jpeg"],
      [WEBP, "image/webp"],
      [PNG, "image/png"],
    ] as const) {
      // The upload's own content-type is not believed.
      const saved = await put("/api/site/logo", bytes, { "content-type": "image/png" });
      expect(saved.status).toBe(200);
      const version = saved.body.data.fields.logo_version;
      const status = (await core.call("GET", "/api/status")).body.data;
      expect(status.logo).toBe(`/api/site/logo?v=${version}`);
      const served = await core.call("GET", status.logo);
      expect(served.status).toBe(200);
      expect(served.headers["content-type"]).toBe(type);
      expect(served.headers["x-content-type-options"]).toBe("nosniff");
      expect(served.headers["cache-control"]).toContain("max-age=31536000");
      expect(served.headers["content-security-policy"]).toContain("sandbox");
      // An old version's URL is not cached for a year.
      const stale = await core.call("GET", "/api/site/logo?v=old");
      expect(stale.headers["cache-control"]).toBe("no-cache");
    }
  });

  it("refuses SVG, HTML, GIF, empty and oversized uploads, and keeps the logo it had", async () => {
    const before = (await core.call("GET", "/api/status")).body.data.logo;
    expect(before).not.toBeNull();
    const refused = [
      Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
      Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>'),
      Buffer.from("<html><script>alert(1)</script></html>"),
      Buffer.from("GIF89a\x01\x00\x01\x00"),
      Buffer.concat([PNG, Buffer.alloc(100 * 1024)]),
    ];
    const answers = await Promise.all(
      refused.map((bytes) => put("/api/site/logo", bytes, { "content-type": "image/png" })),
    );
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ success: false });
    }
    const empty = await core.call("PUT", "/api/site/logo", { headers: auth() });
    expect(empty.status).toBe(400);
    // Said to be SVG, or a form a page of another site could send: refused before it is read.
    for (const type of ["image/svg+xml", "text/plain", "multipart/form-data"]) {
      const answer = await put("/api/site/logo", PNG, { "content-type": type });
      expect(answer.status, type).toBe(415);
    }
    expect((await core.call("GET", "/api/status")).body.data.logo).toBe(before);
  });

  it("is changed only by an admin, and removed by DELETE", async () => {
    const member = (
      await core.call("POST", "/api/user", {
        headers: auth(),
        body: { username: `mem${Date.now().toString(36)}`, password: "correct horse battery" },
      })
    ).body.data as Json;
    const other = { authorization: `Bearer ${member.access_token}`, "content-type": "image/png" };
    expect((await core.call("PUT", "/api/site/logo", { headers: other, body: PNG })).status).toBe(
      403,
    );
    const deleting = { authorization: other.authorization };
    expect((await core.call("DELETE", "/api/site/logo", { headers: deleting })).status).toBe(403);
    expect((await core.call("DELETE", "/api/site/logo", { headers: auth() })).status).toBe(200);
    expect((await core.call("GET", "/api/status")).body.data.logo).toBeNull();
    expect((await core.call("GET", "/api/site/logo")).status).toBe(404);
  });
});
