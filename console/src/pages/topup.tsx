import { useState } from "preact/hooks";
import { type Bucket, post, type User } from "../api";
import {
  BUCKET,
  Card,
  ErrorText,
  Field,
  label,
  Money,
  Notice,
  PageHead,
  useAction,
} from "../components/ui";
import { t } from "../i18n";
import { usd } from "../money";
import { session, userUpdated } from "../session";
import { BuyCredit, MyOrders } from "./topup-buy";

export function Topup() {
  const action = useAction();
  const [done, setDone] = useState("");
  const [code, setCode] = useState("");
  const user = session.use();
  return (
    <>
      <PageHead title={t("topup_title")} />
      <BuyCredit />
      <Card class="narrow">
        <p class="muted">{t("topup_intro")}</p>
        <form
          data-testid="redeem-form"
          onSubmit={(e) => {
            e.preventDefault();
            const key = code.trim();
            setDone("");
            action.run(async () => {
              const { data } = await post<{ quota: number; bucket: Bucket; user?: User }>(
                "/api/user/topup",
                { key },
              );
              if (data.user) userUpdated({ ...data.user, csrf_token: undefined });
              setDone(
                t("topup_done", { amount: usd(data.quota), bucket: label(BUCKET, data.bucket) }),
              );
              setCode("");
            });
          }}
        >
          <Field label={t("topup_code")}>
            <input
              name="key"
              required
              autoComplete="off"
              class="mono"
              value={code}
              onInput={(e) => setCode(e.currentTarget.value)}
            />
          </Field>
          <ErrorText error={action.error} />
          <Notice text={done} />
          <button type="submit" class="primary" disabled={action.busy}>
            {t("topup_submit")}
          </button>
        </form>
      </Card>
      {user && (
        <Card title={t("balance_title")} class="narrow">
          <dl class="kv">
            {(["free", "bonus", "paid"] as const).map((b) => (
              <div key={b}>
                <dt>{label(BUCKET, b)}</dt>
                <dd>
                  <Money units={user[`${b}_quota`]} />
                </dd>
              </div>
            ))}
            <div>
              <dt>{t("balance_total")}</dt>
              <dd>
                <Money units={user.total_quota} />
              </dd>
            </div>
          </dl>
        </Card>
      )}
      <MyOrders />
    </>
  );
}
