import { TtlCache } from "../cache";
import type { Table } from "./table";

export type RegistrationMode = "open" | "closed" | "invitation";
export const REGISTRATION_MODES: readonly RegistrationMode[] = ["open", "closed", "invitation"];

/** What the operator sets for the whole site from the console. */
export interface SiteOptions {
  /** Who may register: anyone, nobody (the admin creates users), or holders of a code. */
  registration: RegistrationMode;
  /** Free quota (units) a new account starts with. */
  newUserQuota: number;
}

const OPTIONS_KEY = { pk: "CONFIG", sk: "SITE" };

/** The site's options (CONFIG/SITE), the defaults until the admin saves some. */
export class SiteOptionsStore {
  private readonly cache: TtlCache<"options", SiteOptions>;

  constructor(
    private readonly table: Table,
    private readonly defaults: SiteOptions,
    cacheTtlMs: number,
  ) {
    this.cache = new TtlCache(cacheTtlMs);
  }

  get(): Promise<SiteOptions> {
    return this.cache.get("options", async () => {
      const item = await this.table.get<Partial<SiteOptions>>(OPTIONS_KEY);
      return {
        registration: item?.registration ?? this.defaults.registration,
        newUserQuota: item?.newUserQuota ?? this.defaults.newUserQuota,
      };
    });
  }

  async update(changes: Partial<SiteOptions>): Promise<SiteOptions> {
    const next = { ...(await this.get()), ...changes };
    await this.table.put({ ...OPTIONS_KEY, ...next });
    this.cache.clear();
    return next;
  }
}
