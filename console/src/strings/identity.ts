/** Sign-in and access tokens (issue 22, stream D): the Settings token list, provider buttons. */

export const en = {
  oauth_or: "Or sign in with another account:",
  oauth_sign_in_with: "Sign in with {provider}",
  oauth_refused: "That sign-in did not go through. Try again.",
  password_tokens_revoked:
    "Every system access token of yours was revoked with the old password: make new ones below, and run `sluice login` again for the CLI.",
};

export const zh: Record<keyof typeof en, string> = {
  oauth_or: "或使用其他账户登录：",
  oauth_sign_in_with: "使用 {provider} 登录",
  oauth_refused: "此次登录未能完成，请重试。",
  password_tokens_revoked:
    "旧密码下的所有系统访问令牌均已吊销：请在下方重新生成，命令行工具请重新运行 `sluice login`。",
};
