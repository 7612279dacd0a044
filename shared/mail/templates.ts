import type { Mail } from "./mailer";

/**
 * Every mail sluice sends, from fixed templates, in the recipient's language: plain text, and
 * minimal HTML (no remote images, no Markdown; every value escaped). A third language is one
 * more entry in WORDS, which the type checker holds complete.
 *
 * (Issue 22 §3 puts these words in the message catalogues, shared/messages/<lang>/mail.ts, once
 * they exist; until then they live here.)
 */
export type MailLanguage = "en" | "zh";

/** The language a mail is written in: the profile's (or the page's) `lang`, else English. */
export function mailLanguage(lang: unknown): MailLanguage {
  return typeof lang === "string" && lang.toLowerCase().startsWith("zh") ? "zh" : "en";
}

interface Words {
  verificationSubject(site: string): string;
  verificationBody(p: { site: string; code: string; minutes: number }): string[];
  registeredSubject(site: string): string;
  registeredBody(p: { site: string; resetUrl: string }): string[];
  resetSubject(site: string): string;
  resetBody(p: { site: string; username: string; url: string; minutes: number }): string[];
  lowBalanceSubject(site: string): string;
  lowBalanceBody(p: { site: string; balance: string; threshold: string; url: string }): string[];
  linkedSubject(site: string, provider: string): string;
  linkedBody(p: { site: string; provider: string; login: string; url: string }): string[];
  footer(site: string): string;
}

const WORDS: Record<MailLanguage, Words> = {
  en: {
    verificationSubject: (site) => `Your ${site} verification code`,
    verificationBody: ({ code, minutes }) => [
      `Your verification code is ${code}.`,
      `Enter it on the page where you asked for it. It expires in ${minutes} minutes and works once.`,
      "If you did not ask for it, ignore this mail: nothing happens without the code.",
    ],
    registeredSubject: (site) => `You already have a ${site} account`,
    registeredBody: ({ resetUrl }) => [
      "Someone (you, we hope) asked to register or verify this address, but it already belongs to an account.",
      `If you forgot its password, reset it here: ${resetUrl}`,
      "If it was not you, ignore this mail: nothing has changed.",
    ],
    resetSubject: (site) => `Reset your ${site} password`,
    resetBody: ({ username, url, minutes }) => [
      `Someone asked to reset the password of the account ${username}.`,
      `Choose a new password here (the link works once, for ${minutes} minutes): ${url}`,
      "A reset signs out every session and revokes the account's access tokens; API keys keep working.",
      "If it was not you, ignore this mail: your password has not changed.",
    ],
    lowBalanceSubject: (site) => `Your ${site} balance is low`,
    lowBalanceBody: ({ balance, threshold, url }) => [
      `Your balance is ${balance}, below the ${threshold} you asked to be told about.`,
      `Top it up before your calls are refused: ${url}`,
      "You get this once each time the balance falls below; change the threshold in Settings.",
    ],
    linkedSubject: (site, provider) => `${provider} sign-in linked to your ${site} account`,
    linkedBody: ({ provider, login, url }) => [
      `The ${provider} account ${login} can now sign in to your account.`,
      `If that was not you, unlink it in Settings and change your password: ${url}`,
    ],
    footer: (site) => `— ${site}`,
  },
  zh: {
    verificationSubject: (site) => `${site} 验证码`,
    verificationBody: ({ code, minutes }) => [
      `你的验证码是 ${code}。`,
      `请在申请验证码的页面输入。验证码 ${minutes} 分钟内有效，只能使用一次。`,
      "如果不是你本人申请，请忽略本邮件：没有验证码什么也不会发生。",
    ],
    registeredSubject: (site) => `你已经有 ${site} 账户了`,
    registeredBody: ({ resetUrl }) => [
      "有人（希望是你）申请用这个邮箱注册或验证，但它已属于一个账户。",
      `如果忘记了密码，可在此重置：${resetUrl}`,
      "如果不是你本人操作，请忽略本邮件：一切未变。",
    ],
    resetSubject: (site) => `重置你的 ${site} 密码`,
    resetBody: ({ username, url, minutes }) => [
      `有人申请重置账户 ${username} 的密码。`,
      `请在此设置新密码（链接只能使用一次，${minutes} 分钟内有效）：${url}`,
      "重置后所有会话都会退出，账户的访问令牌会被吊销；API 密钥仍可使用。",
      "如果不是你本人申请，请忽略本邮件：你的密码没有改变。",
    ],
    lowBalanceSubject: (site) => `${site} 余额不足`,
    lowBalanceBody: ({ balance, threshold, url }) => [
      `你的余额为 ${balance}，已低于你设定的提醒额度 ${threshold}。`,
      `请在调用被拒绝前充值：${url}`,
      "每次余额跌破提醒额度时只通知一次；可在“设置”中修改提醒额度。",
    ],
    linkedSubject: (site, provider) => `你的 ${site} 账户已关联 ${provider} 登录`,
    linkedBody: ({ provider, login, url }) => [
      `${provider} 账户 ${login} 现在可以登录你的账户。`,
      `如果不是你本人操作，请在“设置”中解除关联并修改密码：${url}`,
    ],
    footer: (site) => `—— ${site}`,
  },
};

/** What every template needs: the recipient, their language, the site's name. */
interface Envelope {
  to: string;
  lang: MailLanguage;
  site: string;
}

export function verificationMail(e: Envelope & { code: string; minutes: number }): Mail {
  const w = WORDS[e.lang];
  return compose(e, "verification", w.verificationSubject(e.site), w.verificationBody(e));
}

/** Sent instead of a code when the address already has an account: it says so only to its owner. */
export function alreadyRegisteredMail(e: Envelope & { resetUrl: string }): Mail {
  const w = WORDS[e.lang];
  return compose(e, "already_registered", w.registeredSubject(e.site), w.registeredBody(e));
}

export function resetMail(e: Envelope & { username: string; url: string; minutes: number }): Mail {
  const w = WORDS[e.lang];
  return compose(e, "password_reset", w.resetSubject(e.site), w.resetBody(e));
}

export function lowBalanceMail(
  e: Envelope & { balance: string; threshold: string; url: string },
): Mail {
  const w = WORDS[e.lang];
  return compose(e, "low_balance", w.lowBalanceSubject(e.site), w.lowBalanceBody(e));
}

/**
 * Sent when an outside sign-in is linked to an account (asked for while signed in, or by the
 * provider's verified address): whoever linked it can sign in past a password change, so the
 * owner is told where to undo it.
 */
export function identityLinkedMail(
  e: Envelope & { provider: string; login: string; url: string },
): Mail {
  const w = WORDS[e.lang];
  return compose(e, "identity_linked", w.linkedSubject(e.site, e.provider), w.linkedBody(e));
}

function compose(e: Envelope, kind: string, subject: string, lines: string[]): Mail {
  const footer = WORDS[e.lang].footer(e.site);
  return {
    to: e.to,
    subject,
    text: `${[...lines, "", footer].join("\n\n").replace(/\n{3,}/g, "\n\n")}\n`,
    html: `<!doctype html><html lang="${e.lang === "zh" ? "zh-CN" : "en"}"><body>${[
      ...lines.map((line) => `<p>${linked(line)}</p>`),
      `<p>${escapeHtml(footer)}</p>`,
    ].join("")}</body></html>`,
    tags: { kind },
  };
}

/** A line, escaped, with its http(s) URL (if any) made a link. */
function linked(line: string): string {
  const match = /https?:\/\/\S+/.exec(line);
  if (!match) return escapeHtml(line);
  const url = match[0];
  return `${escapeHtml(line.slice(0, match.index))}<a href="${escapeHtml(url)}">${escapeHtml(url)}</a>${escapeHtml(
    line.slice(match.index + url.length),
  )}`;
}

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );
}
