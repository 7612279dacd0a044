/** Credit: redemption codes, admins' top-ups and the trial credit. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  redemption_quota_required: NoParams;
  redemption_code_used: NoParams;
  redemption_already_redeemed: NoParams;
  redemption_status_invalid: NoParams;
  redemption_code_not_found: NoParams;
  unused_redemption_code_not_found: NoParams;
  not_a_redemption_code: NoParams;
  top_up_quota_required: NoParams;
  no_trial_offered: NoParams;
}

export const en: Entries<Messages> = {
  redemption_quota_required: () => "Give each code a positive quota (units) or dollars.",
  redemption_code_used: () => "This code is not valid, or has been used already.",
  redemption_already_redeemed: () => "You have redeemed this code already.",
  redemption_status_invalid: () => "status must be enabled or disabled.",
  redemption_code_not_found: () => "Redemption code not found.",
  unused_redemption_code_not_found: () => "Unused redemption code not found.",
  not_a_redemption_code: () => "That is not a redemption code.",
  top_up_quota_required: () => "Give a positive quota (units) or dollars to add.",
  no_trial_offered: () => "This account was offered no trial credit.",
};

export const zh: Entries<Messages> = {
  redemption_quota_required: () => "请为每个兑换码设置正数的额度（单位）或美元金额。",
  redemption_code_used: () => "该兑换码无效或已被使用。",
  redemption_already_redeemed: () => "你已经兑换过这个兑换码。",
  redemption_status_invalid: () => "状态必须是 enabled（启用）或 disabled（禁用）。",
  redemption_code_not_found: () => "找不到该兑换码。",
  unused_redemption_code_not_found: () => "找不到该未使用的兑换码。",
  not_a_redemption_code: () => "这不是一个兑换码。",
  top_up_quota_required: () => "请填写要增加的正数额度（单位）或美元金额。",
  no_trial_offered: () => "该账户没有试用额度。",
};

export const samples: Samples<Messages> = {
  redemption_quota_required: {},
  redemption_code_used: {},
  redemption_already_redeemed: {},
  redemption_status_invalid: {},
  redemption_code_not_found: {},
  unused_redemption_code_not_found: {},
  not_a_redemption_code: {},
  top_up_quota_required: {},
  no_trial_offered: {},
};
