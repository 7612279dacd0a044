import { createHash } from "node:crypto";
import { TtlCache } from "../cache";
import type { LogoType } from "../site/logo";
import { SITE_LOGO_KEY } from "./keys";
import type { Table } from "./table";

export interface StoredLogo {
  bytes: Uint8Array;
  type: LogoType;
  /** The bytes' hash: the logo's URL names it, so a browser keeps it for a year. */
  version: string;
}

/** The site's logo (CONFIG/LOGO), its bytes in the item (≤ 100 KB, checked before). */
export class SiteLogoStore {
  private readonly cache: TtlCache<"logo", StoredLogo | undefined>;

  constructor(
    private readonly table: Table,
    cacheTtlMs: number,
  ) {
    this.cache = new TtlCache(cacheTtlMs);
  }

  get(): Promise<StoredLogo | undefined> {
    return this.cache.get("logo", async () => {
      const item = await this.table.get<{ data: string; type: LogoType; version: string }>(
        SITE_LOGO_KEY,
      );
      return (
        item && { bytes: Buffer.from(item.data, "base64"), type: item.type, version: item.version }
      );
    });
  }

  /** Stores the logo and answers its version. */
  async put(bytes: Uint8Array, type: LogoType): Promise<string> {
    const version = createHash("sha256").update(bytes).digest("base64url").slice(0, 16);
    // As base64 text: the table's HTTP transport speaks no binary attributes (136 KB at most).
    const data = Buffer.from(bytes).toString("base64");
    await this.table.put({ ...SITE_LOGO_KEY, data, type, version });
    this.cache.clear();
    return version;
  }

  async delete(): Promise<void> {
    await this.table.delete(SITE_LOGO_KEY);
    this.cache.clear();
  }
}
