import { randomUUID } from "node:crypto";
import { TtlCache } from "../cache";
import { siteContentKey } from "./keys";
import { ConditionFailed, setFields, type Table } from "./table";

/** A notice on the dashboard, shown between `from` and `until` (unix seconds) when set. */
export interface Announcement {
  id: string;
  title: string;
  /** Markdown. */
  body: string;
  from?: number;
  until?: number;
  level: "info" | "warning";
}

/** One language's pages (Markdown) and announcements (CONFIG/CONTENT#<lang>). */
export interface SiteContent {
  home?: string;
  about?: string;
  announcements: Announcement[];
  version: number;
}

export type SiteContentChanges = Partial<{
  home: string | null;
  about: string | null;
  announcements: Announcement[];
}>;

const ATTEMPTS = 5;

/**
 * The site's Markdown pages, one item per language: kept apart from CONFIG/SITE, which every
 * page load reads, since each page may be 32 KB. Changes merge field by field, as the options'.
 */
export class SiteContentStore {
  private readonly cache: TtlCache<string, SiteContent>;

  constructor(
    private readonly table: Table,
    cacheTtlMs: number,
  ) {
    this.cache = new TtlCache(cacheTtlMs);
  }

  /** As this instance last read it (at most the cache's TTL old): for visitors. */
  get(lang: string): Promise<SiteContent> {
    return this.cache.get(lang, () => this.read(lang));
  }

  /** As stored now: what an admin edits. */
  async read(lang: string): Promise<SiteContent> {
    return contentOf(await this.table.get<Partial<SiteContent>>(siteContentKey(lang), true));
  }

  /**
   * Sets the fields given (null removes a page), on the stored version: with
   * `expectedVersion`, ConditionFailed unless it is the stored one; without, a write that
   * loses a race is applied again over the other.
   */
  async update(
    lang: string,
    changes: SiteContentChanges,
    options: { expectedVersion?: number } = {},
  ): Promise<SiteContent> {
    for (let attempt = 1; ; attempt++) {
      const stored = await this.table.get<Partial<SiteContent>>(siteContentKey(lang), true);
      const version = stored?.version ?? 0;
      if (options.expectedVersion !== undefined && options.expectedVersion !== version)
        throw new ConditionFailed();
      const { assignments, removals, names, values } = setFields(changes, { removeNull: true });
      names["#version"] = "version";
      values[":next"] = version + 1;
      if (stored?.version !== undefined) values[":read"] = version;
      // The write's own id, which tells a retry of it (its answer lost) that it landed.
      values[":writeId"] = randomUUID();
      try {
        const saved = await this.table.update<Partial<SiteContent>>(siteContentKey(lang), {
          update: `SET ${["#version = :next", "writeId = :writeId", ...assignments].join(", ")}${
            removals.length ? ` REMOVE ${removals.join(", ")}` : ""
          }`,
          condition:
            stored?.version === undefined ? "attribute_not_exists(#version)" : "#version = :read",
          names,
          values,
          returnValues: "ALL_NEW",
          explainFailure: true,
        });
        this.cache.delete(lang);
        return contentOf(saved);
      } catch (err) {
        if (err instanceof ConditionFailed && err.item?.writeId === values[":writeId"]) {
          this.cache.delete(lang);
          return contentOf(err.item as Partial<SiteContent>);
        }
        const raced = err instanceof ConditionFailed && options.expectedVersion === undefined;
        if (!raced || attempt === ATTEMPTS) throw err;
      }
    }
  }
}

function contentOf(item: Partial<SiteContent> | undefined): SiteContent {
  return {
    ...(item?.home ? { home: item.home } : {}),
    ...(item?.about ? { about: item.about } : {}),
    announcements: item?.announcements ?? [],
    version: item?.version ?? 0,
  };
}
