import { siteField } from "../fields";
import { defineSection } from "../section";

export type RegistrationMode = "open" | "closed" | "invitation";
export const REGISTRATION_MODES: readonly RegistrationMode[] = ["open", "closed", "invitation"];

/** Who may register: anyone, nobody (the admin creates users), or holders of a code. */
export const registration = defineSection({
  name: "registration",
  fields: { mode: siteField.oneOf(REGISTRATION_MODES, "registration") },
  defaults: (settings) => ({
    // A value that is not one of them lets nobody in until the admin sets it.
    mode: (REGISTRATION_MODES as readonly string[]).includes(settings.console.registration)
      ? (settings.console.registration as RegistrationMode)
      : ("closed" as RegistrationMode),
  }),
  publicView: ({ mode }) => ({ registration: mode }),
});
