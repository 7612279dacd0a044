/**
 * Sign-in with other providers (GitHub, LinuxDO, OpenID Connect), linked identities and named
 * access tokens (issue 22, stream D).
 */

import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  access_token_limit: { max: number };
  access_token_unknown: { name: string };
  access_token_name_invalid: NoParams;
  access_tokens_busy: NoParams;
  /** The callback's cookie is missing, expired or not ours, or its `state` differs. */
  oauth_state_invalid: NoParams;
  /** `provider`: the name in the URL. */
  oauth_provider_off: { provider: string };
  /** The provider refused the code, or answered what it should not. */
  oauth_failed: { provider: string };
  oauth_trust_level_low: { level: number; min: number };
  oauth_account_silenced: NoParams;
  identity_taken: { provider: string };
  identity_unknown: { provider: string };
  /** Unlinking would leave the account with no way to sign in. */
  identity_last_sign_in: NoParams;
  /** Linking needs a recent sign-in, and a password change cancels a link under way. */
  link_sign_in_again: NoParams;
  oauth_registration_closed: NoParams;
  oauth_invitation_required: NoParams;
  oauth_origin_unset: NoParams;
  oauth_issuer_invalid: NoParams;
  oauth_settings_incomplete: { provider: string; fields: string };
  access_token_revoked: NoParams;
}

export const en: Entries<Messages> = {
  access_token_limit: (p) =>
    `An account holds at most ${p.max} access tokens. Revoke one you no longer use (Settings, or DELETE /api/user/tokens/<name>) first.`,
  access_token_unknown: (p) => `You have no access token named ${p.name}.`,
  access_token_name_invalid: () =>
    "name must be 1 to 64 letters, digits or _ . @ : -, starting with a letter or digit.",
  access_tokens_busy: () => "The account's access tokens are changing; try again.",
  oauth_state_invalid: () =>
    "This sign-in was not started in this browser, or took too long. Start it again.",
  oauth_provider_off: (p) => `Sign-in with ${p.provider} is not enabled on this site.`,
  oauth_failed: (p) => `${p.provider} did not confirm the sign-in. Try again.`,
  oauth_trust_level_low: (p) =>
    `This site takes LINUX DO accounts of trust level ${p.min} or more; yours is ${p.level}.`,
  oauth_account_silenced: () => "This LINUX DO account is silenced or inactive.",
  identity_taken: (p) => `This ${p.provider} account is linked to another account here already.`,
  identity_unknown: (p) => `No ${p.provider} account is linked to yours.`,
  identity_last_sign_in: () =>
    "This is your account's only way to sign in: set a password or link another account first.",
  link_sign_in_again: () =>
    "Sign in again, then link the account: linking needs a recent sign-in, and a password change cancels a link under way.",
  oauth_registration_closed: () =>
    "No account here is linked to that sign-in, and registration is closed on this site.",
  oauth_invitation_required: () =>
    "No account here is linked to that sign-in; this site registers by invitation only (register with a code first, then link it in Settings).",
  oauth_origin_unset: () =>
    "Set SLUICE_PUBLIC_ORIGIN (the site's own address) first: sign-in providers call it back there.",
  oauth_issuer_invalid: () => "issuer must be an https URL (http only on the loopback, for tests).",
  oauth_settings_incomplete: (p) => `${p.provider} sign-in needs ${p.fields} before it is enabled.`,
  access_token_revoked: () => "The access token is revoked.",
};

export const zh: Entries<Messages> = {
  access_token_limit: (p) =>
    `每个账户最多持有 ${p.max} 个访问令牌。请先吊销一个不再使用的令牌（在设置中，或 DELETE /api/user/tokens/<name>）。`,
  access_token_unknown: (p) => `你没有名为 ${p.name} 的访问令牌。`,
  access_token_name_invalid: () =>
    "名称须为 1 到 64 个字母、数字或 _ . @ : -，并以字母或数字开头。",
  access_tokens_busy: () => "账户的访问令牌正在变更，请重试。",
  oauth_state_invalid: () => "此次登录不是在本浏览器中发起的，或耗时过长。请重新开始。",
  oauth_provider_off: (p) => `本站未启用 ${p.provider} 登录。`,
  oauth_failed: (p) => `${p.provider} 未能确认此次登录，请重试。`,
  oauth_trust_level_low: (p) =>
    `本站仅接受信任等级 ${p.min} 及以上的 LINUX DO 账户；你的等级为 ${p.level}。`,
  oauth_account_silenced: () => "此 LINUX DO 账户已被禁言或未激活。",
  identity_taken: (p) => `此 ${p.provider} 账户已关联到本站的另一个账户。`,
  identity_unknown: (p) => `你的账户没有关联 ${p.provider} 账户。`,
  identity_last_sign_in: () => "这是你账户唯一的登录方式：请先设置密码或关联另一个账户。",
  link_sign_in_again: () =>
    "请重新登录后再关联账户：关联需要最近的登录，修改密码会取消进行中的关联。",
  oauth_registration_closed: () => "本站没有与此登录关联的账户，且本站已关闭注册。",
  oauth_invitation_required: () =>
    "本站没有与此登录关联的账户；本站仅限邀请注册（请先用邀请码注册，再在设置中关联）。",
  oauth_origin_unset: () =>
    "请先设置 SLUICE_PUBLIC_ORIGIN（本站的地址）：登录服务商会回调到该地址。",
  oauth_issuer_invalid: () => "issuer 必须是 https 地址（仅测试时可用本机 http 地址）。",
  oauth_settings_incomplete: (p) => `启用 ${p.provider} 登录前，需先填写 ${p.fields}。`,
  access_token_revoked: () => "该访问令牌已吊销。",
};

export const samples: Samples<Messages> = {
  access_token_limit: { max: 10 },
  access_token_unknown: { name: "cli@laptop" },
  access_token_name_invalid: {},
  access_tokens_busy: {},
  oauth_state_invalid: {},
  oauth_provider_off: { provider: "github" },
  oauth_failed: { provider: "github" },
  oauth_trust_level_low: { level: 0, min: 2 },
  oauth_account_silenced: {},
  identity_taken: { provider: "github" },
  identity_unknown: { provider: "github" },
  identity_last_sign_in: {},
  link_sign_in_again: {},
  oauth_registration_closed: {},
  oauth_invitation_required: {},
  oauth_origin_unset: {},
  oauth_issuer_invalid: {},
  oauth_settings_incomplete: { provider: "GitHub", fields: "client_id, client_secret" },
  access_token_revoked: {},
};
