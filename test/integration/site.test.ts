/**
 * The operator's site over HTTP, on a sluice of its own (its options touch no other test): the
 * name, colour, logo and footer in /api/status and the name and logo in the page's <title> and
 * icon (HTML-escaped), the logo served from DynamoDB as its sniffed type, the CSP's img-src
 * following the listed image origins, and the pages and announcements per language.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildConsole } from "../../console/build";
import { type OwnSite, SiteClient, startOwnSite } from "./own-site";
import type { Json } from "./support";

let site: OwnSite;
let consoleDir: string;
beforeAll(async () => {
  // The console as deployed (console/build.ts), for its page's <title> and icon.
  consoleDir = mkdtempSync(join(tmpdir(), "sluice-site-console-"));
  await buildConsole({ outDir: consoleDir });
  site = await startOwnSite({ SLUICE_CONSOLE_DIR: consoleDir });
});
afterAll(async () => {
  await site.close();
  rmSync(consoleDir, { recursive: true, force: true });
});

const PNG = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a5f4c3f90000000049454e44ae426082",
  "hex",
);

const visitor = () => new SiteClient(site.instance.url);

async function admin(
  method: string,
  path: string,
  body?: unknown,
  type = "application/json",
): Promise<Json> {
  const answer = await fetch(new URL(path, site.instance.url), {
    method,
    headers: {
      authorization: `Bearer ${site.adminToken}`,
      ...(body === undefined ? {} : { "content-type": type }),
    },
    body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const json = (await answer.json()) as { data: Json };
  expect(answer.status, JSON.stringify(json)).toBe(200);
  return json.data;
}

describe("branding", () => {
  it("is in /api/status, the page's <title> and icon, and the CSP's img-src", async () => {
    await admin("PUT", "/api/site/sections/branding", {
      name: 'A</title><script>alert(1)</script>&"',
      color: "#0b5394",
      footer: { en: "© Acme", zh: "© 艾克米" },
      image_origins: ["https://images.example.com"],
    });
    const logo = await admin("PUT", "/api/site/logo", PNG, "image/png");
    const version = logo.fields.logo_version;

    const status = (await visitor().call("GET", "/api/status?lang=zh")).body.data;
    expect(status).toMatchObject({
      system_name: 'A</title><script>alert(1)</script>&"',
      theme_color: "#0b5394",
      footer: "© 艾克米",
      logo: `/api/site/logo?v=${version}`,
    });

    const page = await fetch(new URL("/", site.instance.url));
    const html = await page.text();
    expect(html).toContain(
      "<title>A&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;</title>",
    );
    expect(html).not.toContain("<script>alert(1)");
    expect(html).toContain(`<link rel="icon" href="/api/site/logo?v=${version}">`);
    expect(page.headers.get("content-security-policy")).toContain(
      "img-src 'self' data: https://images.example.com;",
    );

    const served = await fetch(new URL(status.logo, site.instance.url));
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    expect(Buffer.from(await served.arrayBuffer()).equals(PNG)).toBe(true);

    // A new name is a new page: the old ETag is not confirmed.
    const etag = page.headers.get("etag") ?? "";
    await admin("PUT", "/api/site/sections/branding", { name: "Acme" });
    const again = await fetch(new URL("/", site.instance.url), {
      headers: { "if-none-match": etag },
    });
    expect(again.status).toBe(200);
    expect(await again.text()).toContain("<title>Acme</title>");
  });
});

describe("content", () => {
  it("is kept per language, falls back to the other, and shows announcements in their window", async () => {
    expect((await visitor().call("GET", "/api/home_page_content?lang=en")).body.data).toBe("");
    await admin("PUT", "/api/site/content?lang=en", { home: "# Welcome", about: "About us" });
    await admin("PUT", "/api/site/content?lang=zh", { home: "# 欢迎" });
    await admin("PUT", "/api/site/sections/content", { home_page: true });
    const now = Math.floor(Date.now() / 1000);
    await admin("PUT", "/api/site/content?lang=zh", {
      announcements: [
        { title: "维护", body: "今晚维护", level: "warning" },
        { title: "过期", body: "旧", until: now - 60 },
        { title: "未来", body: "新", from: now + 3600 },
      ],
    });
    const get = async (path: string) => (await visitor().call("GET", path)).body.data;
    expect(await get("/api/home_page_content?lang=en")).toBe("# Welcome");
    expect(await get("/api/home_page_content?lang=zh")).toBe("# 欢迎");
    // No Chinese about page: the English one.
    expect(await get("/api/about?lang=zh")).toBe("About us");
    expect((await get("/api/status")).home_page).toBe(true);
    const notices = await get("/api/notice?lang=zh");
    expect(notices.map((n: { title: string }) => n.title)).toEqual(["维护"]);
    expect(notices[0]).toMatchObject({ level: "warning", body: "今晚维护" });
    // The pages as the admin edits them, and a field of one language left as it was.
    await admin("PUT", "/api/site/content?lang=en", { about: "" });
    expect(await admin("GET", "/api/site/content?lang=en")).toMatchObject({
      home: "# Welcome",
      about: "",
    });
  });

  it("refuses bad content, other languages and visitors' writes", async () => {
    const refusals = [
      ["/api/site/content?lang=fr", { home: "x" }, 400],
      ["/api/site/content", { home: "x" }, 400],
      ["/api/site/content?lang=en", { home: "x".repeat(33 * 1024) }, 400],
      ["/api/site/content?lang=en", { announcements: [{}] }, 400],
      ["/api/site/content?lang=en", { announcements: Array(11).fill({ title: "t" }) }, 400],
      ["/api/site/content?lang=en", { announcements: [{ title: "t", level: "red" }] }, 400],
    ] as const;
    for (const [path, body, status] of refusals) {
      const answer = await fetch(new URL(path, site.instance.url), {
        method: "PUT",
        headers: { authorization: `Bearer ${site.adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      expect(answer.status, `${path} ${JSON.stringify(body).slice(0, 80)}`).toBe(status);
    }
    const anonymous = await visitor().call("PUT", "/api/site/content?lang=en", { home: "pwned" });
    expect(anonymous.status).toBe(401);
    expect((await visitor().call("GET", "/api/home_page_content?lang=en")).body.data).toBe(
      "# Welcome",
    );
  });
});
