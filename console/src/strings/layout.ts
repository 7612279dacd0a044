/**
 * The layout's strings (stream a-layout): where a top-up came from, refused calls in the log,
 * the channel column, the site's frame.
 */

export const en = {
  source_trial: "Trial credit",
  source_redemption: "Redemption code",
  source_admin: "Added by the administrator",
  source_order: "Payment · order {id}",
  source_order_plain: "Payment",
  source_checkin: "Daily check-in",
  source_invitation: "Invitation reward",
  log_source: "Source",
  log_refused: "Refused",
  log_refused_count: "Calls refused: {count}",
  refusal_insufficient_quota: "balance too low",
  refusal_key_quota: "key's quota used up",
  refusal_rate_limit: "rate limit reached",
  refusal_model_not_available: "model not available to this key",
  refusal_other: "refused",
  log_channel_deleted: "deleted channel",
};

export const zh: Record<keyof typeof en, string> = {
  source_trial: "试用额度",
  source_redemption: "兑换码",
  source_admin: "管理员充值",
  source_order: "在线支付 · 订单 {id}",
  source_order_plain: "在线支付",
  source_checkin: "每日签到",
  source_invitation: "邀请奖励",
  log_source: "来源",
  log_refused: "已拒绝",
  log_refused_count: "被拒绝的调用：{count} 次",
  refusal_insufficient_quota: "余额不足",
  refusal_key_quota: "令牌额度已用完",
  refusal_rate_limit: "超出速率限制",
  refusal_model_not_available: "此令牌无法使用该模型",
  refusal_other: "已拒绝",
  log_channel_deleted: "已删除的渠道",
};
