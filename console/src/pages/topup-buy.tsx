import { useState } from "preact/hooks";
import { get, post } from "../api";
import {
  Card,
  ErrorText,
  Field,
  Loading,
  label,
  Table,
  useAction,
  useLoad,
} from "../components/ui";
import { type Key, locale, t } from "../i18n";
import { usd } from "../money";

/** What GET /api/payment/options answers: the ways to pay, and per currency the amounts and rate. */
interface PaymentOptions {
  methods: { provider: "stripe" | "epay"; type?: string; currency: string }[];
  currencies: {
    currency: string;
    amounts: number[];
    min: number | null;
    max: number | null;
    units_per: number | null;
  }[];
}

interface OrderRow {
  id: string;
  provider: string;
  method: string | null;
  currency: string;
  amount_minor: number;
  units: number;
  state: string;
  created_at: number;
  checkout_url: string | null;
}

/** How many minor units make a major one, as Intl knows the currency (JPY 0, USD 2). */
const exponent = (currency: string) =>
  new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
    .maximumFractionDigits ?? 2;

/** Minor units shown as money (display only: amounts travel as integers). */
export function money(minor: number, currency: string): string {
  return new Intl.NumberFormat(locale(), { style: "currency", currency }).format(
    minor / 10 ** exponent(currency),
  );
}

export const METHOD: Record<string, Key> = {
  alipay: "pay_method_alipay",
  wxpay: "pay_method_wxpay",
  qqpay: "pay_method_qqpay",
  stripe: "pay_method_stripe",
};

export const ORDER_STATE: Record<string, Key> = {
  created: "order_state_created",
  pending: "order_state_pending",
  processing: "order_state_processing",
  paid: "order_state_paid",
  credited: "order_state_credited",
  mismatch: "order_state_mismatch",
  failed: "order_state_failed",
  expired: "order_state_expired",
};

/** A way to pay by its name in the reader's language (an EPay type the console does not know, as sent). */
const methodName = (method: PaymentOptions["methods"][number]) => {
  const key = METHOD[method.type ?? method.provider];
  return key ? t(key) : (method.type ?? method.provider);
};

/** The top-up page's "Buy credit" cards: one per currency, each with its own amount. */
export function BuyCredit() {
  const options = useLoad(() => get<PaymentOptions>("/api/payment/options"), []);
  const data = options.data?.data;
  if (!data) return <Loading loaded={options} />;
  if (data.methods.length === 0)
    return (
      <Card title={t("pay_title")} class="narrow">
        <p class="muted">{t("pay_none")}</p>
      </Card>
    );
  return (
    <>
      {data.currencies.map((c) => (
        <CurrencyCard
          key={c.currency}
          currency={c}
          methods={data.methods.filter((m) => m.currency === c.currency)}
        />
      ))}
    </>
  );
}

/** One currency's amounts, the rate shown exactly and a button per method (its state its own). */
function CurrencyCard(props: {
  currency: PaymentOptions["currencies"][number];
  methods: PaymentOptions["methods"];
}) {
  const c = props.currency;
  const action = useAction();
  const [picked, setPicked] = useState<number | null>(null);
  const [custom, setCustom] = useState("");
  const scale = 10 ** exponent(c.currency);
  const typed = Number.parseFloat(custom);
  const amount =
    custom.trim() && Number.isFinite(typed)
      ? Math.round(typed * scale)
      : (picked ?? c.amounts[0] ?? 0);
  const quota = c.units_per ? Math.floor((amount * c.units_per) / scale) : 0;
  return (
    <Card title={t("pay_title")} class="narrow">
      <p class="muted">{t("pay_intro")}</p>
      <fieldset class="row-actions">
        <legend>{t("pay_amount")}</legend>
        {c.amounts.map((a) => (
          <button
            type="button"
            key={a}
            aria-pressed={!custom && amount === a}
            onClick={() => {
              setPicked(a);
              setCustom("");
            }}
          >
            {money(a, c.currency)}
          </button>
        ))}
      </fieldset>
      <Field
        label={t("pay_custom")}
        hint={
          c.min !== null && c.max !== null
            ? t("pay_minimum", {
                min: money(c.min, c.currency),
                max: money(c.max, c.currency),
              })
            : undefined
        }
      >
        <input
          name="amount"
          inputMode="decimal"
          value={custom}
          onInput={(e) => setCustom(e.currentTarget.value)}
        />
      </Field>
      <p>{t("pay_rate", { paid: money(amount, c.currency), quota: usd(quota) })}</p>
      <ErrorText error={action.error} />
      <div class="row-actions">
        {props.methods.map((m) => (
          <button
            type="button"
            class="primary"
            key={`${m.provider}-${m.type ?? ""}`}
            disabled={action.busy || amount <= 0}
            onClick={() =>
              action.run(async () => {
                const { data: made } = await post<{ order_id: string; url: string }>(
                  `/api/payment/${m.provider}`,
                  { amount_minor: amount, ...(m.type ? { type: m.type } : {}) },
                );
                // A top-level navigation to the provider's page (a form post would be
                // refused by the console's form-action 'self').
                location.assign(made.url);
              })
            }
          >
            {t("pay_with", { method: methodName(m) })}
          </button>
        ))}
      </div>
    </Card>
  );
}

/**
 * The customer's orders, newest first; a pending one can be paid again. The state comes right
 * after the time, so that a phone shows it without scrolling the table.
 */
export function MyOrders() {
  const orders = useLoad(() => get<OrderRow[]>("/api/payment/orders"), []);
  const rows = orders.data?.data;
  if (!rows) return <Loading loaded={orders} />;
  if (rows.length === 0) return null;
  return (
    <Card title={t("orders_title")}>
      <Table
        head={[
          t("orders_time"),
          t("orders_state"),
          t("orders_amount"),
          t("orders_quota"),
          t("orders_order"),
        ]}
      >
        {rows.map((o) => (
          <tr key={o.id} id={`order-${o.id}`}>
            <td>
              {new Date(o.created_at * 1000).toLocaleString(locale(), {
                dateStyle: "short",
                timeStyle: "short",
              })}
            </td>
            <td>
              {label(ORDER_STATE, o.state)}
              {o.checkout_url && (
                <>
                  {" "}
                  <a href={o.checkout_url}>{t("order_continue")}</a>
                </>
              )}
            </td>
            <td>{money(o.amount_minor, o.currency)}</td>
            <td>{usd(o.units)}</td>
            <td class="mono">{o.id.slice(-8)}</td>
          </tr>
        ))}
      </Table>
    </Card>
  );
}
