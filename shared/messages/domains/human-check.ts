/** The human check (Cloudflare Turnstile) on registration. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  turnstile_required: NoParams;
  turnstile_not_configured: NoParams;
  turnstile_unavailable: NoParams;
  /** `reasons`: Turnstile's error codes, comma-separated ("" when it gave none). */
  turnstile_failed: { reasons: string };
}

const expired = (reasons: string) => reasons.split(", ").includes("timeout-or-duplicate");

export const en: Entries<Messages> = {
  turnstile_required: () =>
    "Registration needs the human check (Cloudflare Turnstile): complete it and send its token as turnstile_token.",
  turnstile_not_configured: () =>
    "Registration is unavailable: the site's human check has no secret key. Tell the site's administrator.",
  turnstile_unavailable: () =>
    "The human check could not be verified just now (Cloudflare did not answer). Please try again.",
  turnstile_failed: (p) =>
    expired(p.reasons)
      ? "The human check expired or was used already. Complete it again."
      : `The human check failed (${p.reasons || "refused"}). Complete it again.`,
};

export const zh: Entries<Messages> = {
  turnstile_required: () =>
    "注册需要完成人机验证（Cloudflare Turnstile），并将其令牌作为 turnstile_token 发送。",
  turnstile_not_configured: () => "暂时无法注册：站点的人机验证没有配置密钥。请告知站点管理员。",
  turnstile_unavailable: () => "暂时无法核验人机验证（Cloudflare 没有响应）。请重试。",
  turnstile_failed: (p) =>
    expired(p.reasons)
      ? "人机验证已过期或已被使用。请重新完成验证。"
      : `人机验证未通过（${p.reasons || "被拒绝"}）。请重新完成验证。`,
};

export const samples: Samples<Messages> = {
  turnstile_required: {},
  turnstile_not_configured: {},
  turnstile_unavailable: {},
  turnstile_failed: { reasons: "invalid-input-response" },
};
