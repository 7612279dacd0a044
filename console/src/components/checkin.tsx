import { useState } from "preact/hooks";
import { get, post } from "../api";
import { t } from "../i18n";
import { usd } from "../money";
import { refreshUser } from "../session";
import { TurnstileWidget } from "./turnstile";
import { Card, ErrorText, Notice, useAction, useLoad } from "./ui";

interface CheckinMonth {
  enabled: boolean;
  today: string;
  checked_in_today: boolean;
  streak: number;
  min_units: number;
  max_units: number;
  turnstile_site_key: string | null;
  days: { date: string; quota: number }[];
}

/**
 * The dashboard's daily check-in (POST /api/user/checkin): today's button, the streak and
 * the month. Shown only where the site offers it.
 */
export function CheckinCard() {
  const month = useLoad(async () => (await get<CheckinMonth>("/api/user/checkin")).data, []);
  const action = useAction();
  const [doneText, setDoneText] = useState("");
  // With the site's human check on the check-in: the widget's token, and a count of resets
  // (a token verifies once).
  const [token, setToken] = useState<string | null>(null);
  const [resets, setResets] = useState(0);
  const data = month.data;
  if (!data?.enabled) return null;
  const total = data.days.reduce((sum, day) => sum + day.quota, 0);
  return (
    <Card title={t("checkin_title")} class="checkin">
      <p class="muted">
        {t("checkin_intro", { min: usd(data.min_units), max: usd(data.max_units) })}
      </p>
      {data.turnstile_site_key && !data.checked_in_today && (
        <TurnstileWidget
          siteKey={data.turnstile_site_key}
          action="checkin"
          onToken={setToken}
          resets={resets}
          onError={action.setError}
        />
      )}
      {data.checked_in_today ? (
        <Notice text={t("checkin_today_done")} />
      ) : (
        <button
          type="button"
          class="primary"
          disabled={action.busy}
          onClick={() =>
            action.run(async () => {
              const siteKey = data.turnstile_site_key;
              if (siteKey && !token) throw new Error(t("turnstile_needed"));
              if (siteKey) setResets((n) => n + 1);
              const { data: done } = await post<{ quota: number }>(
                "/api/user/checkin",
                siteKey ? { turnstile_token: token } : {},
              );
              setDoneText(t("checkin_done", { amount: usd(done.quota) }));
              await refreshUser();
              month.reload();
            })
          }
        >
          {t("checkin_submit")}
        </button>
      )}
      <Notice text={doneText} />
      <ErrorText error={action.error} />
      {data.streak > 0 && <p>{t("checkin_streak", { n: String(data.streak) })}</p>}
      <p class="muted small">
        {t("checkin_month", { n: String(data.days.length), amount: usd(total) })}
      </p>
    </Card>
  );
}
