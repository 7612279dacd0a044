import { siteField } from "../fields";
import { defineSection } from "../section";

/**
 * Whether visitors land on the home page (`/`) rather than the sign-in form. The pages
 * themselves (home, about, announcements: Markdown per language) are in CONFIG/CONTENT#<lang>
 * (store/site-content.ts, PUT /api/site/content), too large for the options every page reads.
 */
export const content = defineSection({
  name: "content",
  fields: { homePage: siteField.boolean() },
  defaults: () => ({ homePage: false }),
  publicView: (values) => ({ home_page: values.homePage }),
});
