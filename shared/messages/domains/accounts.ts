/** Accounts: registration, sign-in, profiles, users as admins manage them, and who may do what. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  username_invalid: NoParams;
  email_invalid: NoParams;
  username_taken: NoParams;
  registration_closed: NoParams;
  invitation_code_required: NoParams;
  invitation_code_invalid: NoParams;
  sign_in_failed: NoParams;
  user_not_found: NoParams;
  admin_only: NoParams;
  cannot_demote_self: NoParams;
  cannot_delete_self: NoParams;
  own_password_in_settings: NoParams;
  lock_not_found: NoParams;
  /** Success notices (`message_code` beside `message`). */
  password_reset_done: NoParams;
  sessions_ended: NoParams;
}

export const en: Entries<Messages> = {
  username_invalid: () => "username must be 3 to 32 letters, digits, dots, dashes or underscores.",
  email_invalid: () => "email is not an email address.",
  username_taken: () => "That username is taken.",
  registration_closed: () =>
    "Registration is closed on this site. Ask its administrator for an account.",
  invitation_code_required: () => "Registration needs an invitation code.",
  invitation_code_invalid: () => "The invitation code is not valid, or has been used.",
  sign_in_failed: () => "Wrong username or password.",
  user_not_found: () => "User not found.",
  admin_only: () => "Only administrators may do this.",
  cannot_demote_self: () => "Administrators cannot demote or disable themselves.",
  cannot_delete_self: () => "Administrators cannot delete themselves.",
  own_password_in_settings: () =>
    "Change your own password in Settings (PUT /api/user/self), which asks for the current one.",
  lock_not_found: () => "Lock not found.",
  password_reset_done: () =>
    "Password reset: every session of the user has ended and every system access token of theirs is revoked. They sign in with the new password and make new tokens in Settings. Check the keys made since their password was last set (keys_to_review).",
  sessions_ended: () =>
    "Every session of the user has ended and all their system access tokens are revoked; their keys still work (check keys_to_review).",
};

export const zh: Entries<Messages> = {
  username_invalid: () => "用户名须为 3 到 32 个字母、数字、点、短横线或下划线。",
  email_invalid: () => "电子邮箱地址无效。",
  username_taken: () => "该用户名已被使用。",
  registration_closed: () => "本站已关闭注册。请联系站点管理员开通账户。",
  invitation_code_required: () => "注册需要邀请码。",
  invitation_code_invalid: () => "邀请码无效或已被使用。",
  sign_in_failed: () => "用户名或密码错误。",
  user_not_found: () => "找不到该用户。",
  admin_only: () => "只有管理员可以执行此操作。",
  cannot_demote_self: () => "管理员不能降级或禁用自己。",
  cannot_delete_self: () => "管理员不能删除自己。",
  own_password_in_settings: () =>
    "请在“设置”中修改你自己的密码（PUT /api/user/self），那里会要求输入当前密码。",
  lock_not_found: () => "找不到该锁定。",
  password_reset_done: () =>
    "密码已重置：该用户的所有会话均已结束，其所有系统访问令牌均已吊销。用户需用新密码登录，并在“设置”中生成新令牌。请检查自其上次设置密码以来创建的密钥（keys_to_review）。",
  sessions_ended: () =>
    "该用户的所有会话均已结束，其所有系统访问令牌均已吊销；其密钥仍然有效（请检查 keys_to_review）。",
};

export const samples: Samples<Messages> = {
  username_invalid: {},
  email_invalid: {},
  username_taken: {},
  registration_closed: {},
  invitation_code_required: {},
  invitation_code_invalid: {},
  sign_in_failed: {},
  user_not_found: {},
  admin_only: {},
  cannot_demote_self: {},
  cannot_delete_self: {},
  own_password_in_settings: {},
  lock_not_found: {},
  password_reset_done: {},
  sessions_ended: {},
};
