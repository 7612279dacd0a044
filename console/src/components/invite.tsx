import { get } from "../api";
import { t } from "../i18n";
import { num, usd } from "../money";
import { Card, CopyButton, Field, useLoad } from "./ui";

interface Invitations {
  enabled: boolean;
  aff_code: string;
  signups: number;
  paid: number;
  earned: number;
  inviter_units: number;
  invitee_units: number;
}

/** The register page's address with the user's code: what they share. */
export const inviteLink = (code: string) =>
  `${location.origin}${location.pathname}#/register?aff=${encodeURIComponent(code)}`;

/**
 * The dashboard's invitation card (GET /api/user/invitations): the link to share, how many
 * signed up with it, how many of them paid, and what that earned. Shown only where the site
 * rewards invitations.
 */
export function InviteCard() {
  const loaded = useLoad(async () => (await get<Invitations>("/api/user/invitations")).data, []);
  const data = loaded.data;
  if (!data?.enabled) return null;
  const link = inviteLink(data.aff_code);
  return (
    <Card title={t("invite_title")} class="invite">
      <p class="muted">
        {t("invite_intro", { amount: usd(data.inviter_units) })}
        {data.invitee_units > 0 &&
          ` ${t("invite_intro_welcome", { amount: usd(data.invitee_units) })}`}
      </p>
      <Field label={t("invite_link")}>
        <input readOnly value={link} class="mono" />
      </Field>
      <CopyButton text={link} />
      <dl class="kv">
        <div>
          <dt>{t("invite_code")}</dt>
          <dd class="mono">{data.aff_code}</dd>
        </div>
        <div>
          <dt>{t("invite_signups")}</dt>
          <dd>{num(data.signups)}</dd>
        </div>
        <div>
          <dt>{t("invite_paid")}</dt>
          <dd>{num(data.paid)}</dd>
        </div>
        <div>
          <dt>{t("invite_earned")}</dt>
          <dd>{usd(data.earned)}</dd>
        </div>
      </dl>
    </Card>
  );
}
