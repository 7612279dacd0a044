/** Who is calling: access tokens, sessions, API keys, and proving it again with the password. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  sign_in_required: NoParams;
  api_key_on_management: NoParams;
  access_token_invalid: NoParams;
  account_disabled: NoParams;
  session_expired: NoParams;
  /** OpenAI's `invalid_api_key`, when no key was sent. */
  api_key_missing: NoParams;
  invalid_api_key: { key: string };
  key_account_disabled: NoParams;
  key_disabled: { key: string };
  key_expired: { key: string };
  key_exhausted: { key: string };
  current_password_wrong: NoParams;
  password_not_set: NoParams;
  /**
   * `field`: where to send the password; `window_seconds`: how recent a sign-in does without
   * it (0: none does); `via`: what the caller used, "session" or "token".
   */
  reauthentication_required: { field: string; window_seconds: number; via: string };
}

export const en: Entries<Messages> = {
  sign_in_required: () =>
    "Sign in, or send your system access token: Authorization: Bearer <token>.",
  api_key_on_management: () =>
    "API keys (sk-…) work on /v1 only. The management API takes your system access token.",
  access_token_invalid: () => "The system access token is not valid.",
  account_disabled: () => "This account is disabled.",
  session_expired: () => "Your session has ended. Sign in again.",
  api_key_missing: () =>
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
  invalid_api_key: (p) =>
    `Incorrect API key provided: ${p.key}. Check the key or ask your sluice administrator for a new one.`,
  key_account_disabled: () => "The account this API key belongs to is disabled.",
  key_disabled: (p) => `The API key ${p.key} is disabled.`,
  key_expired: (p) => `The API key ${p.key} has expired.`,
  key_exhausted: (p) =>
    `The API key ${p.key} has used up its quota. Raise its remaining quota or use another key.`,
  current_password_wrong: () => "The current password is wrong.",
  password_not_set: () =>
    "This account has no password, and this needs one: ask an administrator to set it.",
  reauthentication_required: (p, f) => {
    const ask = `Send your current password (\`${p.field}\`) to do this.`;
    const session = p.via === "session";
    return p.window_seconds > 0
      ? `${ask} Only a console session that signed in within the last ${f.duration(p.window_seconds)} may do it without${session ? "" : "; an access token may not"}.`
      : `${ask} ${session ? "A session" : "An access token"} alone may not.`;
  },
};

export const zh: Entries<Messages> = {
  sign_in_required: () => "请登录，或发送你的系统访问令牌：Authorization: Bearer <令牌>。",
  api_key_on_management: () => "API 密钥（sk-…）只能用于 /v1。管理 API 需要你的系统访问令牌。",
  access_token_invalid: () => "系统访问令牌无效。",
  account_disabled: () => "该账户已被禁用。",
  session_expired: () => "你的会话已结束。请重新登录。",
  api_key_missing: () =>
    "你没有提供 API 密钥。请在 Authorization 请求头中以 Bearer 方式提供（即 Authorization: Bearer YOUR_KEY）。",
  invalid_api_key: (p) => `API 密钥不正确：${p.key}。请检查密钥，或向 sluice 管理员申请新的密钥。`,
  key_account_disabled: () => "该 API 密钥所属的账户已被禁用。",
  key_disabled: (p) => `API 密钥 ${p.key} 已被禁用。`,
  key_expired: (p) => `API 密钥 ${p.key} 已过期。`,
  key_exhausted: (p) => `API 密钥 ${p.key} 的额度已用完。请提高其剩余额度或使用其他密钥。`,
  current_password_wrong: () => "当前密码错误。",
  password_not_set: () => "该账户没有设置密码，而此操作需要密码：请联系管理员设置。",
  reauthentication_required: (p, f) => {
    const ask = `执行此操作需要发送你的当前密码（\`${p.field}\`）。`;
    const session = p.via === "session";
    return p.window_seconds > 0
      ? `${ask}只有在最近 ${f.duration(p.window_seconds)}内登录的控制台会话可以免密码执行${session ? "" : "；访问令牌不行"}。`
      : `${ask}仅凭${session ? "会话" : "访问令牌"}不能执行。`;
  },
};

export const samples: Samples<Messages> = {
  sign_in_required: {},
  api_key_on_management: {},
  access_token_invalid: {},
  account_disabled: {},
  session_expired: {},
  api_key_missing: {},
  invalid_api_key: { key: "sk-abc…xyz" },
  key_account_disabled: {},
  key_disabled: { key: "sk-abc…xyz" },
  key_expired: { key: "sk-abc…xyz" },
  key_exhausted: { key: "sk-abc…xyz" },
  current_password_wrong: {},
  password_not_set: {},
  reauthentication_required: { field: "current_password", window_seconds: 300, via: "session" },
};
