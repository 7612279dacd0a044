import { randomUUID } from "node:crypto";
import { TtlCache } from "../cache";
import type { Settings } from "../config/settings";
import { PlainSecretBox, type SecretBox } from "../crypto/secret-box";
import { InvalidRequest } from "../errors";
import { msg } from "../messages/codes";
import {
  type AnySection,
  attributeOf,
  type SecretField,
  type SiteChanges,
  type SiteSection,
  type SiteValuesOf,
  type SiteView,
  savedMarker,
  secretAttribute,
} from "../site/section";
import { SITE_OPTIONS_KEY as OPTIONS_KEY, SITE_SECRETS_KEY as SECRETS_KEY } from "./keys";
import { ConditionFailed, setFields, type Table, type TransactOp } from "./table";

/** Another admin's change landing between our read and our write: read again, this often. */
const ATTEMPTS = 5;

const PURPOSE = "sluice-site-secret";

type Stored = Record<string, unknown> & { version?: number };

/** The site's settings as read: every section's values, and which secrets are saved. */
export class SiteOptions<L extends readonly AnySection[]> implements SiteView {
  constructor(
    /** Bumped by every change; a change may name the version it edits. */
    readonly version: number,
    readonly values: SiteValuesOf<L>,
    private readonly saved: ReadonlySet<string>,
    readonly settings: Settings,
  ) {}

  of<N extends string, T extends object, S extends string>(section: SiteSection<N, T, S>): T {
    const values = (this.values as Record<string, T>)[section.name];
    if (!values) throw new Error(`The site has no section ${section.name}`);
    return values;
  }

  secretSet<N extends string, T extends object, S extends string>(
    section: SiteSection<N, T, S>,
    name: S,
  ): boolean {
    return this.saved.has(secretAttribute(section as AnySection, name));
  }
}

/**
 * The site's settings, section by section (shared/site/section.ts): plain values in
 * CONFIG/SITE, each the section's default until an admin saves it, secrets sealed in
 * CONFIG/SITE_SECRETS. Changes are merged field by field in DynamoDB: a field not sent is never
 * written, so two admins changing different fields (of one section or of two) both land.
 */
export class SiteOptionsStore<L extends readonly AnySection[]> {
  private readonly cache: TtlCache<"options", SiteOptions<L>>;
  private readonly opened: TtlCache<string, string | undefined>;
  private readonly byName: Map<string, AnySection>;

  constructor(
    private readonly table: Table,
    readonly sections: L,
    private readonly settings: Settings,
    cacheTtlMs: number,
    private readonly box: SecretBox = new PlainSecretBox(),
  ) {
    this.cache = new TtlCache(cacheTtlMs);
    this.opened = new TtlCache(cacheTtlMs);
    this.byName = new Map(sections.map((section) => [section.name, section]));
  }

  /** The section of that name, if the site has one. */
  section(name: string): AnySection | undefined {
    return this.byName.get(name);
  }

  /** The options as this instance last read them (at most the cache's TTL old). */
  get(): Promise<SiteOptions<L>> {
    return this.cache.get("options", () => this.read());
  }

  /** The options as stored now (a consistent read): what an admin edits. */
  async read(): Promise<SiteOptions<L>> {
    return this.options((await this.table.get<Stored>(OPTIONS_KEY, true)) ?? {});
  }

  /**
   * A secret, opened (KMS is asked then, at most once per cache TTL): only for the route that
   * uses it. Undefined when none is saved.
   */
  secret<N extends string, T extends object, S extends string>(
    section: SiteSection<N, T, S>,
    name: S,
  ): Promise<string | undefined> {
    const attribute = secretAttribute(section as AnySection, name);
    return this.opened.get(attribute, async () => {
      const sealed = await this.table.get<Stored>(SECRETS_KEY, true);
      let value = sealed?.[attribute];
      const legacy = (section as AnySection).secrets?.[name]?.legacyAttribute;
      // Saved before CONFIG/SITE_SECRETS existed: it is still where it was, until replaced.
      if (value === undefined && legacy)
        value = (await this.table.get<Stored>(OPTIONS_KEY, true))?.[legacy];
      return typeof value === "string" && value ? this.box.open(value, PURPOSE) : undefined;
    });
  }

  /**
   * Sets the fields in `changes` and nothing else, on a consistent read of the stored item and
   * conditional on its version (the price list's rule, billing/pricing.ts): with
   * `expectedVersion`, ConditionFailed when it is not the stored one. Without, a change that
   * lands between our read and our write is read again and ours applied over it: only the
   * fields sent are written, so nothing of the other change is lost. Every section's check
   * sees the options as they will be, and may throw to refuse them; then nothing is written.
   * A secret is written with its plain fields in one transaction.
   */
  async update(
    changes: SiteChanges<L>,
    options: { expectedVersion?: number } = {},
  ): Promise<SiteOptions<L>> {
    const { plain, secrets } = await this.attributes(changes as Record<string, object>);
    const secretsChanged = Object.keys(secrets).length > 0;
    for (let attempt = 1; ; attempt++) {
      const stored = (await this.table.get<Stored>(OPTIONS_KEY, true)) ?? {};
      const version = stored.version ?? 0;
      if (options.expectedVersion !== undefined && options.expectedVersion !== version)
        throw new ConditionFailed();
      const next = this.options(applied(stored, plain));
      for (const section of this.sections) section.check?.(next.of(section), next);
      try {
        const write = fieldUpdate(plain, stored.version);
        if (!secretsChanged) {
          const saved = await this.table
            .update<Stored>(OPTIONS_KEY, {
              ...write,
              returnValues: "ALL_NEW",
              explainFailure: true,
            })
            .catch((err) => {
              // A retry of this very write, its answer lost, finds it made.
              if (err instanceof ConditionFailed && err.item?.writeId === write.values[":writeId"])
                return err.item as Stored;
              throw err;
            });
          this.forget();
          return this.options(saved ?? {});
        }
        const { assignments, removals, names, values } = setFields(secrets, { removeNull: true });
        const sealedWrite: TransactOp = {
          key: SECRETS_KEY,
          update: [
            assignments.length ? `SET ${assignments.join(", ")}` : "",
            removals.length ? `REMOVE ${removals.join(", ")}` : "",
          ].join(" "),
          names,
          ...(assignments.length ? { values } : {}),
        };
        await this.table.transact([{ key: OPTIONS_KEY, ...write }, sealedWrite]);
        this.forget();
        return this.read();
      } catch (err) {
        const raced = err instanceof ConditionFailed && options.expectedVersion === undefined;
        if (!raced || attempt === ATTEMPTS) throw err;
      }
    }
  }

  private forget(): void {
    this.cache.clear();
    this.opened.clear();
  }

  /**
   * A change as attributes: plain ones of CONFIG/SITE (null removes: back to the default), and
   * sealed ones of CONFIG/SITE_SECRETS with their markers (and the legacy attribute removed).
   */
  private async attributes(changes: Record<string, object>) {
    const plain: Record<string, unknown> = {};
    const secrets: Record<string, unknown> = {};
    for (const [name, change] of Object.entries(changes)) {
      const section = this.byName.get(name);
      if (!section) throw new InvalidRequest(msg("site_section_unknown", { section: name }));
      for (const [key, value] of Object.entries(change)) {
        if (value === undefined) continue;
        const secret = section.secrets?.[key];
        if (!secret) {
          if (!(key in section.fields)) throw new Error(`${name} has no field ${key}`);
          plain[attributeOf(section, key)] = value;
          continue;
        }
        const text = typeof value === "string" && value !== "" ? value : null;
        secrets[secretAttribute(section, key)] = text && (await this.box.seal(text, PURPOSE));
        plain[savedMarker(section, key)] = text ? true : null;
        if (secret.legacyAttribute) plain[secret.legacyAttribute] = null;
      }
    }
    return { plain, secrets };
  }

  private options(item: Stored): SiteOptions<L> {
    const values: Record<string, object> = {};
    const saved = new Set<string>();
    for (const section of this.sections) {
      const sectionValues: Record<string, unknown> = { ...section.defaults(this.settings) };
      for (const key of Object.keys(section.fields)) {
        const stored = item[attributeOf(section, key)];
        if (stored !== undefined && stored !== null) sectionValues[key] = stored;
      }
      values[section.name] = sectionValues;
      for (const [key, secret] of Object.entries<SecretField>(section.secrets ?? {})) {
        const legacy = secret.legacyAttribute && item[secret.legacyAttribute];
        if (item[savedMarker(section, key)] === true || legacy)
          saved.add(secretAttribute(section, key));
      }
    }
    return new SiteOptions<L>(item.version ?? 0, values as SiteValuesOf<L>, saved, this.settings);
  }
}

/** The stored item as it will be once `attributes` are written (null: removed). */
function applied(stored: Stored, attributes: Record<string, unknown>): Stored {
  const next: Stored = { ...stored };
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null) delete next[name];
    else if (value !== undefined) next[name] = value;
  }
  return next;
}

/**
 * SET each field given, REMOVE each given as null, and the next version, on the condition that
 * the stored version is still the one read (or that there is none yet).
 */
function fieldUpdate(fields: Record<string, unknown>, version: number | undefined) {
  const { assignments, removals, names, values } = setFields(fields, { removeNull: true });
  names["#version"] = "version";
  values[":next"] = (version ?? 0) + 1;
  if (version !== undefined) values[":read"] = version;
  // The write's own id, which tells a retry of it (its answer lost) that it landed.
  values[":writeId"] = randomUUID();
  const set = ["#version = :next", "writeId = :writeId", ...assignments];
  return {
    update: `SET ${set.join(", ")}${removals.length ? ` REMOVE ${removals.join(", ")}` : ""}`,
    condition: version === undefined ? "attribute_not_exists(#version)" : "#version = :read",
    names,
    values,
  };
}
