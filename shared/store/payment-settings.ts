import { TtlCache } from "../cache";
import { PlainSecretBox, type SecretBox } from "../crypto/secret-box";
import type { ItemKey, Table } from "./table";

/**
 * The operator's payment settings (design brief §4.1), until the site sections of stream
 * b-site land (then they become the sections `payments`, `payments.stripe`, `payments.epay`):
 * one item, CONFIG/PAYMENTS, its plain values in `options` and each secret sealed apart
 * (like channel keys), opened only by the route that needs it.
 */
export interface PaymentOptions {
  /** Preset amounts per currency (ISO, upper case), in minor units. */
  amounts: Record<string, number[]>;
  /** The least and most one order may be, per currency, in minor units. */
  min: Record<string, number>;
  max: Record<string, number>;
  /** Quota units credited per *major* unit of each currency (500,000 units = $1 of quota). */
  unitsPer: Record<string, number>;
  stripe: {
    enabled: boolean;
    currency: string;
    /** Checkout's `payment_method_types`; empty: Stripe picks. */
    methods: string[];
  };
  epay: {
    enabled: boolean;
    /** The gateway's base URL (its submit.php is under it). */
    gateway: string;
    pid: string;
    /** Which EPay `type`s the console offers (alipay, wxpay, qqpay…). */
    types: string[];
    currency: string;
  };
}

export const PAYMENT_SECRETS = ["stripe.secret_key", "stripe.webhook_secret", "epay.key"] as const;
export type PaymentSecret = (typeof PAYMENT_SECRETS)[number];

export const PAYMENT_DEFAULTS: PaymentOptions = {
  amounts: { USD: [500, 1000, 2000, 5000], CNY: [3500, 7000, 14000, 35000] },
  min: { USD: 100, CNY: 500 },
  max: { USD: 100_000, CNY: 700_000 },
  unitsPer: { USD: 500_000, CNY: 75_000 },
  stripe: { enabled: false, currency: "USD", methods: [] },
  epay: { enabled: false, gateway: "", pid: "", types: ["alipay", "wxpay"], currency: "CNY" },
};

const KEY: ItemKey = { pk: "CONFIG", sk: "PAYMENTS" };
const attribute = (secret: PaymentSecret) => `s_${secret.replace(".", "_")}`;

interface Loaded {
  options: PaymentOptions;
  /** Which secrets are saved (sealed). */
  saved: Record<PaymentSecret, boolean>;
  sealed: Partial<Record<PaymentSecret, string>>;
}

export class PaymentSettingsStore {
  private readonly cache: TtlCache<"settings", Loaded>;

  constructor(
    private readonly table: Table,
    private readonly box: SecretBox = new PlainSecretBox(),
    cacheTtlMs = 0,
  ) {
    this.cache = new TtlCache(cacheTtlMs, { serveStale: false });
  }

  async get(): Promise<{ options: PaymentOptions; saved: Record<PaymentSecret, boolean> }> {
    const { options, saved } = await this.load();
    return { options, saved };
  }

  /** A secret, opened (undefined when not saved). */
  async secret(name: PaymentSecret): Promise<string | undefined> {
    const sealed = (await this.load()).sealed[name];
    return sealed === undefined ? undefined : this.box.open(sealed, "sluice-site-secret");
  }

  /**
   * Saves `options` whole and the secrets given (a string sets one, `null` removes it, one
   * not given stays). `check` sees the result first and may throw to refuse it.
   */
  async update(
    options: PaymentOptions,
    secrets: Partial<Record<PaymentSecret, string | null>>,
    check: (options: PaymentOptions, saved: Record<PaymentSecret, boolean>) => void,
  ): Promise<void> {
    const current = await this.read();
    const saved = { ...current.saved };
    for (const [name, value] of Object.entries(secrets) as [PaymentSecret, string | null][])
      saved[name] = value !== null;
    check(options, saved);
    const sets: string[] = ["options = :options"];
    const removes: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ":options": options };
    for (const [i, [name, value]] of Object.entries(secrets).entries()) {
      names[`#s${i}`] = attribute(name as PaymentSecret);
      if (value === null) removes.push(`#s${i}`);
      else {
        values[`:s${i}`] = await this.box.seal(value as string, "sluice-site-secret");
        sets.push(`#s${i} = :s${i}`);
      }
    }
    await this.table.update(KEY, {
      update: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
      ...(Object.keys(names).length ? { names } : {}),
      values,
    });
    this.cache.clear();
  }

  private load(): Promise<Loaded> {
    return this.cache.get("settings", () => this.read());
  }

  private async read(): Promise<Loaded> {
    const item = await this.table.get<Record<string, unknown>>(KEY, true);
    const stored = (item?.options ?? {}) as Partial<PaymentOptions>;
    const options: PaymentOptions = {
      ...PAYMENT_DEFAULTS,
      ...stored,
      stripe: { ...PAYMENT_DEFAULTS.stripe, ...stored.stripe },
      epay: { ...PAYMENT_DEFAULTS.epay, ...stored.epay },
    };
    const sealed: Partial<Record<PaymentSecret, string>> = {};
    for (const name of PAYMENT_SECRETS) {
      const value = item?.[attribute(name)];
      if (typeof value === "string" && value) sealed[name] = value;
    }
    const saved = Object.fromEntries(
      PAYMENT_SECRETS.map((name) => [name, sealed[name] !== undefined]),
    ) as Record<PaymentSecret, boolean>;
    return { options, saved, sealed };
  }
}
