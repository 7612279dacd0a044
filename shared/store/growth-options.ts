import { TtlCache } from "../cache";
import type { Table } from "./table";

/**
 * The growth options as stored (`CONFIG / GROWTH`: `{checkin: {...}, invite: {...}}`), each
 * section's fields as the admin saved them. Interim: they move into the site settings'
 * `checkin` and `invite` sections (shared/site/) once those exist.
 */
export const GROWTH_OPTIONS_KEY = { pk: "CONFIG", sk: "GROWTH" };

export type StoredSection = Record<string, unknown>;

export class GrowthOptionsStore {
  private readonly cache: TtlCache<"options", Record<string, StoredSection>>;

  constructor(
    private readonly table: Table,
    cacheTtlMs: number,
  ) {
    this.cache = new TtlCache(cacheTtlMs);
  }

  /** The stored sections as this instance last read them (at most the cache's TTL old). */
  get(): Promise<Record<string, StoredSection>> {
    return this.cache.get("options", () => this.read());
  }

  /** The stored sections, read consistently: what an admin edits. */
  async read(): Promise<Record<string, StoredSection>> {
    const item = await this.table.get<Record<string, unknown>>(GROWTH_OPTIONS_KEY, true);
    const sections: Record<string, StoredSection> = {};
    for (const name of ["checkin", "invite"]) {
      const value = item?.[name];
      if (value && typeof value === "object") sections[name] = value as StoredSection;
    }
    return sections;
  }

  /** Replaces one section's stored fields. */
  async save(section: "checkin" | "invite", fields: StoredSection): Promise<void> {
    await this.table.update(GROWTH_OPTIONS_KEY, {
      update: "SET #section = :fields",
      names: { "#section": section },
      values: { ":fields": fields },
    });
    this.cache.clear();
  }
}
