import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

/** A file of the built console, ready to send. */
export interface ConsoleFile {
  body: Uint8Array;
  contentType: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
};

/** `index.html`, or a file under `assets/` whose name is plain (no way out of the folder). */
const SERVABLE = /^(index\.html|assets\/[A-Za-z0-9._-]+)$/;

/**
 * The console's built files (console/build.ts), read from `dir` on first request and kept in
 * memory: nothing of the console is loaded until someone asks for it, so the API's own import
 * and its /v1 path carry none of it.
 */
export class ConsoleFiles {
  private readonly files = new Map<string, Promise<ConsoleFile | undefined>>();

  constructor(private readonly dir: string) {}

  get(name: string): Promise<ConsoleFile | undefined> {
    if (!SERVABLE.test(name) || name.includes("..")) return Promise.resolve(undefined);
    let file = this.files.get(name);
    if (!file) {
      file = this.load(name);
      this.files.set(name, file);
    }
    return file;
  }

  private async load(name: string): Promise<ConsoleFile | undefined> {
    try {
      const body = await readFile(join(this.dir, name));
      const extension = name.slice(name.lastIndexOf(".") + 1);
      return {
        body,
        contentType: TYPES[extension] ?? "application/octet-stream",
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
      };
    } catch {
      this.files.delete(name);
      return undefined;
    }
  }
}
