/** Sign-in and access tokens (issue 22, stream D): the Settings token list, provider buttons. */

export const en = {
  password_tokens_revoked:
    "Every system access token of yours was revoked with the old password: make new ones below, and run `sluice login` again for the CLI.",
};

export const zh: Record<keyof typeof en, string> = {
  password_tokens_revoked:
    "旧密码下的所有系统访问令牌均已吊销：请在下方重新生成，命令行工具请重新运行 `sluice login`。",
};
