import { useState } from "preact/hooks";
import { get, post } from "../../api";
import {
  Badge,
  CursorPager,
  Dialog,
  dateTime,
  ErrorText,
  Field,
  formFields,
  Loading,
  label,
  Notice,
  PageHead,
  Table,
  useAction,
  useLoad,
} from "../../components/ui";
import { type Key, t } from "../../i18n";
import { usd } from "../../money";
import { METHOD, money, ORDER_STATE } from "../topup-buy";

const SIZE = 50;

/** An order as GET /api/payment/admin/orders answers it (the fields this page shows). */
interface AdminOrder {
  id: string;
  ref: string;
  user_id: string;
  user_name: string | null;
  provider: string;
  method: string | null;
  currency: string;
  amount_minor: number;
  units: number;
  units_per: number;
  state: string;
  created_at: number;
  paid_at: number | null;
  credited_at: number | null;
  provider_ref: string | null;
  payment_intent: string | null;
  refunded_minor: number;
  dispute: { status: string; amountMinor: number; at: number } | null;
  notes: { at: number; by: string; by_name?: string | null; text: string }[];
  events: { at: number; kind: string }[];
}

const STATES = Object.keys(ORDER_STATE);
const PROVIDER: Record<string, Key> = { stripe: "provider_stripe", epay: "provider_epay" };

/** A state's badge colour, by the badge classes the other tables use. */
const BADGE: Record<string, string> = {
  created: "pending",
  pending: "pending",
  processing: "pending",
  paid: "completed",
  credited: "completed",
  mismatch: "failed",
  failed: "failed",
  expired: "expired",
};

const EVENT: Record<string, Key> = {
  create: "order_event_create",
  bind: "order_event_bind",
  processing: "order_event_processing",
  pay: "order_event_pay",
  mismatch: "order_event_mismatch",
  credit: "order_event_credit",
  fail: "order_event_fail",
  expire: "order_event_expire",
  refund: "order_event_refund",
};

const DISPUTE: Record<string, Key> = {
  warning_needs_response: "dispute_warning_needs_response",
  warning_under_review: "dispute_warning_under_review",
  warning_closed: "dispute_warning_closed",
  needs_response: "dispute_needs_response",
  under_review: "dispute_under_review",
  won: "dispute_won",
  lost: "dispute_lost",
};

/** A line of an order's history in words (a dispute's status as Stripe names it, when new). */
const eventText = (kind: string) =>
  kind.startsWith("dispute.")
    ? t("order_event_dispute", { status: label(DISPUTE, kind.slice("dispute.".length)) })
    : label(EVENT, kind);

/** How the order was paid: EPay's type (Alipay…) when it has one, else the provider. */
const paidWith = (order: AdminOrder) =>
  order.method && METHOD[order.method]
    ? label(METHOD, order.method)
    : label(PROVIDER, order.provider);

const thisMonth = () => new Date().toISOString().slice(0, 7);

/** One order in full, read when asked, with the form for the admin's note. */
function OrderDetails(props: { orderRef: string; onClose(): void }) {
  const order = useLoad(() => get<AdminOrder>(`/api/payment/admin/orders/${props.orderRef}`), []);
  const action = useAction();
  const [notice, setNotice] = useState("");
  const o = order.data?.data;
  return (
    <Dialog
      title={t("admin_orders_detail_title", { id: props.orderRef.slice(-8) })}
      onClose={props.onClose}
    >
      <Loading loaded={order} />
      {o && (
        <div data-testid="order-details">
          <dl class="kv">
            <div>
              <dt>{t("admin_orders_col_user")}</dt>
              <dd>{o.user_name ?? o.user_id}</dd>
            </div>
            <div>
              <dt>{t("amount")}</dt>
              <dd>{money(o.amount_minor, o.currency)}</dd>
            </div>
            <div>
              <dt>{t("orders_quota")}</dt>
              <dd>{usd(o.units)}</dd>
            </div>
            <div>
              <dt>{t("admin_orders_rate")}</dt>
              <dd>
                {t("admin_orders_rate_value", { units: usd(o.units_per), currency: o.currency })}
              </dd>
            </div>
            <div>
              <dt>{t("orders_state")}</dt>
              <dd>{label(ORDER_STATE, o.state)}</dd>
            </div>
            <div>
              <dt>{t("admin_orders_col_provider")}</dt>
              <dd>{paidWith(o)}</dd>
            </div>
            <div>
              <dt>{t("admin_orders_ref")}</dt>
              <dd class="mono wrap">{o.ref}</dd>
            </div>
            <div>
              <dt>{t("admin_orders_provider_ref")}</dt>
              <dd class="mono wrap">{o.provider_ref ?? "—"}</dd>
            </div>
            {o.payment_intent && (
              <div>
                <dt>{t("admin_orders_payment_intent")}</dt>
                <dd class="mono wrap">{o.payment_intent}</dd>
              </div>
            )}
            <div>
              <dt>{t("admin_orders_refunded")}</dt>
              <dd>{money(o.refunded_minor, o.currency)}</dd>
            </div>
            {o.dispute && (
              <div>
                <dt>{t("admin_orders_dispute")}</dt>
                <dd>
                  {label(DISPUTE, o.dispute.status)} · {money(o.dispute.amountMinor, o.currency)}
                </dd>
              </div>
            )}
          </dl>
          <h3>{t("admin_orders_history")}</h3>
          <ul class="wrap" data-testid="order-events">
            {o.events.map((event) => (
              <li key={event.kind}>
                {dateTime(event.at)} · {eventText(event.kind)}
              </li>
            ))}
          </ul>
          <h3>{t("admin_orders_notes")}</h3>
          {o.notes.length === 0 ? (
            <p class="muted">{t("admin_orders_no_notes")}</p>
          ) : (
            <ul class="wrap" data-testid="order-notes">
              {o.notes.map((note) => (
                <li key={`${note.at}-${note.text}`}>
                  {dateTime(note.at)} · {note.by_name ?? note.by}: {note.text}
                </li>
              ))}
            </ul>
          )}
          <form
            data-testid="order-note-form"
            onSubmit={(e) => {
              const form = e.currentTarget;
              const { text } = formFields(e);
              action.run(async () => {
                await post(`/api/payment/admin/orders/${o.ref}/note`, { text });
                form.reset();
                setNotice(t("admin_orders_note_added"));
                order.reload();
              });
            }}
          >
            <Field label={t("admin_orders_note_text")}>
              <textarea name="text" rows={2} maxLength={500} required />
            </Field>
            <ErrorText error={action.error} />
            <Notice text={notice} />
            <div class="buttons">
              <button type="button" onClick={props.onClose}>
                {t("close")}
              </button>
              <button type="submit" class="primary" disabled={action.busy}>
                {t("admin_orders_note_add")}
              </button>
            </div>
          </form>
        </div>
      )}
    </Dialog>
  );
}

/**
 * Every customer's orders of a month, newest first, filtered by user, state and provider, in
 * cursor pages; an order's details and the admin's notes (refunds, disputes) on demand.
 */
export function Orders() {
  const [filters, setFilters] = useState<Record<string, string>>({ month: thisMonth() });
  const [cursors, setCursors] = useState<string[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1];
  const list = useLoad(
    () => get<AdminOrder[]>("/api/payment/admin/orders", { ...filters, size: SIZE, cursor }),
    [filters, cursor],
  );
  const rows = list.data?.data ?? [];
  const next = list.data?.next_cursor;
  return (
    <>
      <PageHead title={t("nav_admin_orders")} />
      <form
        class="filters"
        onSubmit={(e) => {
          const f = formFields(e);
          setCursors([]);
          setFilters(Object.fromEntries(Object.entries(f).filter(([, value]) => value !== "")));
        }}
      >
        <Field label={t("admin_orders_month")}>
          {/* Browsers without a month picker show a text box: the API's form, YYYY-MM. */}
          <input
            name="month"
            type="month"
            required
            pattern="\d{4}-\d{2}"
            placeholder="YYYY-MM"
            defaultValue={filters.month}
          />
        </Field>
        <Field label={t("admin_orders_user")}>
          <input name="user" defaultValue={filters.user} autoComplete="off" />
        </Field>
        <Field label={t("orders_state")}>
          <select name="state">
            <option value="">{t("admin_orders_state_all")}</option>
            {STATES.map((state) => (
              <option key={state} value={state} selected={filters.state === state}>
                {label(ORDER_STATE, state)}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t("admin_orders_provider")}>
          <select name="provider">
            <option value="">{t("admin_orders_provider_all")}</option>
            {Object.keys(PROVIDER).map((provider) => (
              <option key={provider} value={provider} selected={filters.provider === provider}>
                {label(PROVIDER, provider)}
              </option>
            ))}
          </select>
        </Field>
        <div class="buttons">
          <button type="submit" class="primary">
            {t("search")}
          </button>
        </div>
      </form>
      <Loading loaded={list} />
      <Table
        testId="orders-table"
        empty={list.data !== undefined && rows.length === 0}
        head={[
          t("created_at"),
          t("admin_orders_col_user"),
          t("amount"),
          t("orders_quota"),
          t("admin_orders_col_provider"),
          t("orders_state"),
          t("admin_orders_paid_at"),
          t("actions"),
        ]}
      >
        {rows.map((o) => (
          <tr key={o.ref} data-order={o.ref}>
            <td>{dateTime(o.created_at)}</td>
            <td class="name">{o.user_name ?? o.user_id}</td>
            <td>{money(o.amount_minor, o.currency)}</td>
            <td>{usd(o.units)}</td>
            <td>{paidWith(o)}</td>
            <td>
              <Badge value={BADGE[o.state] ?? o.state} label={label(ORDER_STATE, o.state)} />
            </td>
            <td>{dateTime(o.paid_at)}</td>
            <td class="row-actions">
              <button type="button" onClick={() => setOpen(o.ref)}>
                {t("admin_orders_details")}
              </button>
            </td>
          </tr>
        ))}
      </Table>
      <CursorPager cursors={cursors} next={next} onCursors={setCursors} />
      {open && <OrderDetails orderRef={open} onClose={() => setOpen(null)} />}
    </>
  );
}
