import type { Settings } from "../../config/settings";
import { siteField } from "../fields";
import { defineSection } from "../section";

/** The sign-up limits as registration counts them (auth/attempt-guard.ts). */
export interface RegistrationLimits {
  /** Registrations per address, per IPv6 /48 and on the whole site, per window (0: no limit). */
  addressLimit: number;
  networkLimit: number;
  siteLimit: number;
  windowSeconds: number;
  /** Registrations per address per day (24 hours), beside the window's (0: no limit). */
  perAddressPerDay: number;
}

/**
 * How many registrations the site takes, from one address and in all (stream E, §9.3): the
 * SLUICE_REGISTER_* settings are the defaults until the operator saves a value here.
 */
export const registrationLimits = defineSection({
  name: "registration_limits",
  fields: {
    addressLimit: siteField.integer({ min: 0, max: 1_000_000 }),
    networkLimit: siteField.integer({ min: 0, max: 1_000_000 }),
    siteLimit: siteField.integer({ min: 0, max: 100_000_000 }),
    windowSeconds: siteField.integer({ min: 1, max: 30 * 86_400 }),
    perAddressPerDay: siteField.integer({ min: 0, max: 1_000_000 }),
  },
  defaults: (settings: Settings): RegistrationLimits => {
    const { addressLimit, networkLimit, siteLimit, windowMs } = settings.attempts.registration;
    return {
      addressLimit,
      networkLimit,
      siteLimit,
      windowSeconds: Math.max(1, Math.round(windowMs / 1000)),
      perAddressPerDay: 0,
    };
  },
});
