import { TtlCache } from "../cache";
import { PlainSecretBox, type SecretBox } from "../crypto/secret-box";
import { SITE_OPTIONS_KEY as OPTIONS_KEY } from "./keys";
import { ConditionFailed, setFields, type Table } from "./table";

export type RegistrationMode = "open" | "closed" | "invitation";
export const REGISTRATION_MODES: readonly RegistrationMode[] = ["open", "closed", "invitation"];

/**
 * How a new account earns the site's free trial quota (management/trial-credit.ts): at once,
 * after a Cloudflare Turnstile check at sign-up, or when an admin approves it. Email
 * verification (issue 22) joins here as a fourth.
 */
export type TrialVerification = "none" | "turnstile" | "approval";
export const TRIAL_VERIFICATIONS: readonly TrialVerification[] = ["none", "turnstile", "approval"];

/** What the operator sets for the whole site from the console. */
export interface SiteOptions {
  /** Who may register: anyone, nobody (the admin creates users), or holders of a code. */
  registration: RegistrationMode;
  /** Free quota (units) a new account is given, once it passes `trialVerification`. */
  newUserQuota: number;
  trialVerification: TrialVerification;
  /** Cloudflare Turnstile's site key (public: the register page renders the widget with it). */
  turnstileSiteKey?: string;
  /** Whether a Turnstile secret key is saved (it is kept sealed in the table). */
  turnstileSecretSaved: boolean;
  /** That secret, opened: only while `trialVerification` is `turnstile` (KMS is asked then only). */
  turnstileSecret?: string;
  /** Bumped by every change; a change may name the version it edits. */
  version: number;
}

/** The fields a change sets (the others are left as they are); `null` removes one. */
export interface SiteOptionChanges {
  registration?: RegistrationMode;
  newUserQuota?: number;
  trialVerification?: TrialVerification;
  turnstileSiteKey?: string | null;
  turnstileSecret?: string | null;
}

export type SiteOptionDefaults = Pick<
  SiteOptions,
  "registration" | "newUserQuota" | "trialVerification"
>;

/** Another admin's change landing between our read and our write: read again, this often. */
const ATTEMPTS = 5;

type StoredOptions = Partial<SiteOptions> & { pk?: string; sk?: string };

/**
 * The site's options (CONFIG/SITE), each the default until the admin saves it. Changes are
 * merged field by field in DynamoDB: a field not sent is never written, so two admins changing
 * different fields both land.
 */
export class SiteOptionsStore {
  private readonly cache: TtlCache<"options", SiteOptions>;

  constructor(
    private readonly table: Table,
    private readonly defaults: SiteOptionDefaults,
    cacheTtlMs: number,
    private readonly box: SecretBox = new PlainSecretBox(),
  ) {
    this.cache = new TtlCache(cacheTtlMs);
  }

  /** The options as this instance last read them (at most the cache's TTL old). */
  get(): Promise<SiteOptions> {
    return this.cache.get("options", () => this.read());
  }

  /** The options as stored now (a consistent read): what an admin edits. */
  async read(): Promise<SiteOptions> {
    return this.opened(await this.table.get<StoredOptions>(OPTIONS_KEY, true));
  }

  /**
   * Sets the fields in `changes` and nothing else, on a consistent read of the stored item and
   * conditional on its version (the price list's rule, billing/pricing.ts): with
   * `expectedVersion`, ConditionFailed when it is not the stored one. Without, a change that
   * lands between our read and our write is read again and ours applied over it: only the
   * fields sent are written, so nothing of the other change is lost. `check` sees the options
   * as they will be, and may throw to refuse them.
   */
  async update(
    changes: SiteOptionChanges,
    options: { expectedVersion?: number; check?: (next: SiteOptions) => void } = {},
  ): Promise<SiteOptions> {
    const { turnstileSecret, ...plain } = changes;
    const sealed = turnstileSecret
      ? await this.box.seal(turnstileSecret, "sluice-site-secret")
      : turnstileSecret;
    const fields: Record<string, unknown> = { ...plain };
    if (sealed !== undefined) fields.turnstileSecret = sealed;
    for (let attempt = 1; ; attempt++) {
      const stored = await this.table.get<StoredOptions>(OPTIONS_KEY, true);
      const version = stored?.version ?? 0;
      if (options.expectedVersion !== undefined && options.expectedVersion !== version)
        throw new ConditionFailed();
      options.check?.(
        withDefaults(
          { ...stored, ...definedOrRemoved(changes), version: version + 1 },
          this.defaults,
        ),
      );
      try {
        const saved = await this.table.update<StoredOptions>(OPTIONS_KEY, {
          ...fieldUpdate(fields, stored?.version),
          returnValues: "ALL_NEW",
        });
        this.cache.clear();
        return this.opened(saved);
      } catch (err) {
        const raced = err instanceof ConditionFailed && options.expectedVersion === undefined;
        if (!raced || attempt === ATTEMPTS) throw err;
      }
    }
  }

  private async opened(item: StoredOptions | undefined): Promise<SiteOptions> {
    const { turnstileSecret: sealed, ...options } = withDefaults(item ?? {}, this.defaults);
    if (!sealed || options.trialVerification !== "turnstile") return options;
    return { ...options, turnstileSecret: await this.box.open(sealed, "sluice-site-secret") };
  }
}

function withDefaults(item: StoredOptions, defaults: SiteOptionDefaults): SiteOptions {
  return {
    registration: item.registration ?? defaults.registration,
    newUserQuota: item.newUserQuota ?? defaults.newUserQuota,
    trialVerification: item.trialVerification ?? defaults.trialVerification,
    ...(item.turnstileSiteKey ? { turnstileSiteKey: item.turnstileSiteKey } : {}),
    turnstileSecretSaved: Boolean(item.turnstileSecret),
    ...(item.turnstileSecret ? { turnstileSecret: item.turnstileSecret } : {}),
    version: item.version ?? 0,
  };
}

/** The changes as they read once applied: a removed field is absent. */
function definedOrRemoved(changes: SiteOptionChanges): StoredOptions {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    out[name] = value === null ? undefined : value;
  }
  return out as StoredOptions;
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
  const set = ["#version = :next", ...assignments];
  return {
    update: `SET ${set.join(", ")}${removals.length ? ` REMOVE ${removals.join(", ")}` : ""}`,
    condition: version === undefined ? "attribute_not_exists(#version)" : "#version = :read",
    names,
    values,
  };
}
