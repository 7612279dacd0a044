import { describe, expect, it } from "vitest";
import { en, setLang, zh } from "../../console/src/i18n";
import {
  FIELD_LABELS,
  fieldLabel,
  SECTION_LABELS,
  sectionLabel,
} from "../../console/src/pages/admin/settings/labels";
import { loadSettings } from "../../shared/config/settings";
import { adminView } from "../../shared/management/site";
import { SITE_SECTIONS } from "../../shared/site/registry";
import { SiteOptions } from "../../shared/store/site-options";
import { TEST_ENV } from "../fixtures/test-env";

/**
 * The admin's settings tabs label every section and field the server answers
 * (GET /api/site/sections: each section's admin view) in both languages, not by its API name.
 */
describe("the admin's settings labels", () => {
  const settings = loadSettings(TEST_ENV);
  // Every section at its defaults, with a public origin and every secret saved, so each admin
  // view shows all it can (the URLs, the `<secret>_set` flags).
  const values = Object.fromEntries(SITE_SECTIONS.map((s) => [s.name, s.defaults(settings)]));
  const secrets = new Set(
    SITE_SECTIONS.flatMap((s) => Object.keys(s.secrets ?? {}).map((name) => `${s.name}.${name}`)),
  );
  const site = new SiteOptions(1, values as never, new Set<string>(), {
    ...settings,
    edge: { ...settings.edge, publicOrigin: "https://relay.example" },
  });
  site.secretSet = (section, name) => secrets.has(`${section.name}.${name}`);
  // What the form labels: each field by its API name, a secret by its name without `_set`; the
  // logo's version is set by the upload and not shown (settings/index.tsx).
  const shown = SITE_SECTIONS.flatMap((section) =>
    Object.keys(adminView(section, site))
      .filter((field) => !(section.name === "branding" && field === "logo_version"))
      .map((field) => `${section.name}.${field.replace(/_set$/, "")}`),
  );

  it("has a label for every section and every field the server registers, and no other", () => {
    expect(shown.length).toBeGreaterThan(40);
    expect(Object.keys(SECTION_LABELS).sort()).toEqual(SITE_SECTIONS.map((s) => s.name).sort());
    expect(Object.keys(FIELD_LABELS).sort()).toEqual([...shown].sort());
  });

  it("shows them in the reader's language, and a name it does not know as words", () => {
    for (const [lang, dictionary] of Object.entries({ en, zh })) {
      setLang(lang as "en" | "zh", false);
      expect(sectionLabel("registration_limits")).toBe(dictionary.section_registration_limits);
      expect(fieldLabel("checkin", "min_units")).toBe(dictionary.growth_min_units);
      expect(fieldLabel("oauth.oidc", "client_secret")).toBe(dictionary.field_client_secret);
    }
    setLang("en", false);
    expect(zh.growth_min_units).not.toBe(en.growth_min_units);
    expect(sectionLabel("newer_section")).toBe("newer section");
    expect(fieldLabel("checkin", "newer_field")).toBe("newer field");
  });
});
