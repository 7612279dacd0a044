import { field } from "../management/envelope";
import type { SiteField } from "./section";

/**
 * Readers for the fields of a section (shared/site/section.ts), on the management API's field
 * readers: a bad value is a 400 naming the field. `attribute` keeps a field stored before
 * sections where it was.
 */
export const siteField = {
  oneOf<T extends string>(allowed: readonly T[], attribute?: string): SiteField<T> {
    return { attribute, read: (body, name) => field.oneOf(body, name, allowed) };
  },
  integer(options: { min?: number; max?: number }, attribute?: string): SiteField<number> {
    return { attribute, read: (body, name) => field.integer(body, name, options) };
  },
  boolean(attribute?: string): SiteField<boolean> {
    return { attribute, read: (body, name) => field.boolean(body, name) };
  },
  /** Text, trimmed; empty (or null) goes back to the default. */
  text(options: { max: number }, attribute?: string): SiteField<string> {
    return {
      attribute,
      read(body, name) {
        if (body[name] === null) return null;
        const value = field.string(body, name, { max: options.max });
        if (value === undefined) return undefined;
        return value.trim() === "" ? null : value.trim();
      },
    };
  },
};
