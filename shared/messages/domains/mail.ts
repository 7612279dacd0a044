/**
 * Stream e-mail (issue 22 E): verification codes, password reset, the mail transport, and the
 * answers that say a mail is on its way.
 */

import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  too_many_mails: { retry_after_seconds: number };
  mail_not_configured: NoParams;
  mail_setup_required: NoParams;
  verification_code_invalid: NoParams;
  verification_email_required: NoParams;
  verification_code_required: NoParams;
  email_taken: NoParams;
  reset_token_invalid: NoParams;
  verification_code_sent: { minutes: number };
  reset_link_sent: { minutes: number };
  password_reset_by_link_done: NoParams;
  low_balance_alert_needs_email: NoParams;
}

export const en: Entries<Messages> = {
  too_many_mails: (p, f) =>
    `Too many mails asked for this address, or from this address (or its network), just now. Try again in ${f.duration(p.retry_after_seconds)}.`,
  mail_not_configured: () =>
    "This site cannot send e-mail: its administrator has not configured a mail transport.",
  mail_setup_required: () =>
    "E-mail verification and the e-mail trial check need a mail transport: set SLUICE_MAIL_FROM (and SES or SMTP) first.",
  verification_code_invalid: () =>
    "The verification code is wrong or has expired. Check the mail, or ask for a new code.",
  verification_email_required: () =>
    "Registration needs an e-mail address, proven by a code sent to it.",
  verification_code_required: () =>
    "Registration needs the verification code mailed to your address.",
  email_taken: () => "That e-mail address belongs to another account.",
  reset_token_invalid: () =>
    "This reset link does not work: it was used already, has expired, or the password was changed since. Ask for a new one.",
  verification_code_sent: (p, f) =>
    `If this address can receive mail, a code is on its way. It works for ${f.plural(p.minutes, { one: "# minute", other: "# minutes" })}.`,
  reset_link_sent: (p, f) =>
    `If an account has this verified address, a link to reset its password is on its way. It works once, for ${f.plural(p.minutes, { one: "# minute", other: "# minutes" })}.`,
  password_reset_by_link_done: () =>
    "Your password is set. Every session has ended and your access tokens are revoked; sign in with the new password.",
  low_balance_alert_needs_email: () =>
    "A low-balance alert is mailed: verify an e-mail address first.",
};

export const zh: Entries<Messages> = {
  too_many_mails: (p, f) =>
    `此邮箱、此地址（或其所在网络）刚刚申请的邮件过多。请${f.duration(p.retry_after_seconds)}后再试。`,
  mail_not_configured: () => "本站无法发送邮件：管理员尚未配置邮件发送方式。",
  mail_setup_required: () =>
    "邮箱验证和“邮箱验证后发放试用额度”需要先配置邮件发送：请设置 SLUICE_MAIL_FROM（以及 SES 或 SMTP）。",
  verification_code_invalid: () => "验证码错误或已过期。请检查邮件，或重新获取验证码。",
  verification_email_required: () => "注册需要一个邮箱地址，并用发送到该邮箱的验证码验证。",
  verification_code_required: () => "注册需要填写发送到你邮箱的验证码。",
  email_taken: () => "该邮箱地址已属于另一个账户。",
  reset_token_invalid: () =>
    "此重置链接无效：它已被使用、已过期，或密码在此之后已被修改。请重新申请。",
  verification_code_sent: (p, f) =>
    `如果该地址能收信，验证码已在路上，${f.number(p.minutes)} 分钟内有效。`,
  reset_link_sent: (p, f) =>
    `如果有账户验证过此邮箱，重置密码的链接已在路上，只能使用一次，${f.number(p.minutes)} 分钟内有效。`,
  password_reset_by_link_done: () =>
    "新密码已设置。所有会话都已退出，访问令牌均已吊销；请用新密码登录。",
  low_balance_alert_needs_email: () => "余额提醒通过邮件发送：请先验证一个邮箱地址。",
};

export const samples: Samples<Messages> = {
  too_many_mails: { retry_after_seconds: 60 },
  mail_not_configured: {},
  mail_setup_required: {},
  verification_code_invalid: {},
  verification_email_required: {},
  verification_code_required: {},
  email_taken: {},
  reset_token_invalid: {},
  verification_code_sent: { minutes: 10 },
  reset_link_sent: { minutes: 30 },
  password_reset_by_link_done: {},
  low_balance_alert_needs_email: {},
};
