import type { Settings } from "../config/settings";

/**
 * One section of the site's settings (docs/design/open-for-business.md §0.2): its fields, their
 * defaults and readers, which values are secret, what checks a change must pass, and what an
 * admin and a visitor are shown of it. Each section is one file in `shared/site/sections/` and
 * one line in `shared/site/registry.ts`; the store (`shared/store/site-options.ts`) and the
 * routes (`shared/management/site.ts`) know sections only through this contract, so streams add
 * settings without editing each other's files.
 *
 * Plain values live in `CONFIG/SITE` (small, cached, read by `GET /` and `/api/status`), each
 * field under its own attribute so two admins changing different fields both land. Secrets live
 * sealed (the channel keys' SecretBox) in `CONFIG/SITE_SECRETS`, are opened only by the route
 * that needs one (`SiteOptionsStore.secret`), and appear in no view: an admin sees only whether
 * each is saved (`<name>_set`).
 */
export interface SiteSection<N extends string, T extends object, Secret extends string = never> {
  /** Its name in the API (`/api/site/sections/<name>`) and the prefix of its stored attributes. */
  readonly name: N;
  /** Every field's reader: the API name of field `fooBar` is `foo_bar`. */
  readonly fields: { readonly [K in keyof T]-?: SiteField<Exclude<T[K], undefined>> };
  /** The values until an admin saves one (from the deployment's settings where they have one). */
  defaults(settings: Settings): T;
  /** Secret strings (API name = the key), sealed at rest; never in a view. */
  readonly secrets?: { readonly [K in Secret]: SecretField };
  /**
   * Refuses a change whose result breaks a rule (throw InvalidRequest). Every section's check
   * runs on every change, with the site as it will be, so a rule spanning sections holds
   * whichever side is changed.
   */
  check?(values: T, site: SiteView): void;
  /** What an admin is shown; without it, every field by its API name and `<secret>_set`. */
  adminView?(values: T, site: SiteView): Record<string, unknown>;
  /**
   * What `GET /api/status` shows anyone (merged with the other sections' views: keys must not
   * collide). Without it, nothing of the section is public.
   */
  publicView?(values: T, site: SiteView, context: PublicContext): Record<string, unknown>;
}

/** Any section, whatever its name, values and secrets. */
// biome-ignore lint/suspicious/noExplicitAny: a list of sections holds sections of every value type.
export type AnySection = SiteSection<string, any, string>;

/**
 * How one field of an admin's change is read from a request body: `undefined` when it was not
 * sent, `null` to go back to the default, else the value (a bad one throws InvalidRequest
 * naming the field).
 */
export interface SiteField<V> {
  read(body: Record<string, unknown>, apiName: string): V | null | undefined;
  /**
   * The attribute of `CONFIG/SITE` it is kept in, when not `<section>.<field>`: the options
   * stored before sections existed keep their attributes, so nothing saved is lost.
   */
  readonly attribute?: string;
}

export interface SecretField {
  /** The longest value accepted. */
  readonly max: number;
  /** An attribute of `CONFIG/SITE` it was kept in before `CONFIG/SITE_SECRETS`: still read. */
  readonly legacyAttribute?: string;
}

/** The site as a check or a view sees it: every section's values, and which secrets are saved. */
export interface SiteView {
  of<N extends string, T extends object, S extends string>(section: SiteSection<N, T, S>): T;
  secretSet<N extends string, T extends object, S extends string>(
    section: SiteSection<N, T, S>,
    name: S,
  ): boolean;
  readonly settings: Settings;
}

/** What a public view may depend on besides the values: the language the page asked for. */
export interface PublicContext {
  lang: string;
}

export type ValuesOf<S> = S extends SiteSection<string, infer T, string> ? T : never;
export type SecretsOf<S> = S extends SiteSection<string, object, infer X> ? X : never;

/** Every section's values by its name. */
export type SiteValuesOf<L extends readonly AnySection[]> = {
  [S in L[number] as S["name"]]: ValuesOf<S>;
};

/** A change to one section: fields to set, `null` to reset (a secret: to remove). */
export type SectionChanges<S> = { [K in keyof ValuesOf<S>]?: ValuesOf<S>[K] | null } & {
  [K in SecretsOf<S>]?: string | null;
};

/** A change to any sections, each by name. */
export type SiteChanges<L extends readonly AnySection[]> = {
  [S in L[number] as S["name"]]?: SectionChanges<S>;
};

/** Declares a section with its name's literal type kept (for `SiteValuesOf`). */
export function defineSection<
  const N extends string,
  T extends object,
  Secret extends string = never,
>(section: SiteSection<N, T, Secret>): SiteSection<N, T, Secret> {
  return section;
}

/** `newUserQuota` → `new_user_quota`: the name a field has in the API. */
export function apiName(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Where a field is kept in `CONFIG/SITE`. */
export function attributeOf(section: AnySection, field: string): string {
  return section.fields[field]?.attribute ?? `${section.name}.${field}`;
}

/** Where a secret is kept in `CONFIG/SITE_SECRETS`. */
export function secretAttribute(section: AnySection, name: string): string {
  return `${section.name}.${name}`;
}

/**
 * The marker in `CONFIG/SITE` that a secret is saved (written with it, in one transaction):
 * views say so without reading, let alone opening, the sealed item.
 */
export function savedMarker(section: AnySection, name: string): string {
  return `${section.name}.${name}#saved`;
}
