/**
 * What a limit refuses: the balance or a key's quota, throttled attempts, file sizes and
 * storage, and the data store not answering.
 */

import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

type Wait = { retry_after_seconds: number };

export interface Messages {
  /** `key`: the masked key whose own limit refused; absent when the balance did. */
  insufficient_quota: { key?: string };
  too_many_sign_ins: Wait;
  too_many_registrations: Wait;
  too_many_redemptions: Wait;
  file_too_large: { bytes: number; limit: number };
  storage_limit_exceeded: { max_files: number; max_bytes: number };
  service_unavailable: NoParams;
  /** For logs: which DynamoDB operation failed (clients are told service_unavailable). */
  store_unavailable: { operation: string };
  rate_limits_not_object: { field: string };
  rate_limits_unknown: { field: string; unknown: string };
  group_rate_limits_not_object: { field: string };
}

export const en: Entries<Messages> = {
  insufficient_quota: (p) =>
    p.key === undefined
      ? "You exceeded your current quota, please check your plan and billing details. Your sluice balance does not cover the most this request can cost (its prompt plus the smallest answer)."
      : `You exceeded your current quota: the API key ${p.key} has less remaining quota than the most this request can cost. Raise the key's limit or lower max_tokens.`,
  too_many_sign_ins: (p, f) =>
    `Too many failed sign-ins for this username or from this address (or its network). Try again in ${f.duration(p.retry_after_seconds)}.`,
  too_many_registrations: (p, f) =>
    `Too many registrations from this address (or its network) or on this site just now. Try again in ${f.duration(p.retry_after_seconds)}.`,
  too_many_redemptions: (p, f) =>
    `Too many failed redemptions for this account or from this address. Try again in ${f.duration(p.retry_after_seconds)}.`,
  file_too_large: (p) =>
    `The file is ${p.bytes} bytes; files can be at most ${p.limit} bytes (${(p.limit / 1024 / 1024).toFixed(0)} MB).`,
  storage_limit_exceeded: (p, f) =>
    `You can keep at most ${f.plural(p.max_files, { one: "# file", other: "# files" })} and ${p.max_bytes} bytes stored at once; delete files you no longer need.`,
  service_unavailable: () =>
    "sluice's data store is not answering right now. Please try again in a few seconds.",
  store_unavailable: (p) => `The data store did not answer (${p.operation}).`,
  rate_limits_not_object: (p) => `${p.field} must be an object of rpm, tpm and concurrency.`,
  rate_limits_unknown: (p) => `${p.field} takes rpm, tpm and concurrency only, not ${p.unknown}.`,
  group_rate_limits_not_object: (p) => `${p.field} must map group names to limits.`,
};

export const zh: Entries<Messages> = {
  insufficient_quota: (p) =>
    p.key === undefined
      ? "额度不足：你的 sluice 余额不足以支付此请求的最高费用（提示词加最短的回答）。"
      : `额度不足：API 密钥 ${p.key} 的剩余额度不足以支付此请求的最高费用。请提高该密钥的额度，或调低 max_tokens。`,
  too_many_sign_ins: (p, f) =>
    `此用户名或此地址（或其所在网络）登录失败次数过多。请${f.duration(p.retry_after_seconds)}后再试。`,
  too_many_registrations: (p, f) =>
    `此地址（或其所在网络）或本站刚刚注册过多。请${f.duration(p.retry_after_seconds)}后再试。`,
  too_many_redemptions: (p, f) =>
    `此账户或此地址兑换失败次数过多。请${f.duration(p.retry_after_seconds)}后再试。`,
  file_too_large: (p, f) =>
    `文件大小为 ${f.number(p.bytes)} 字节；文件最大为 ${f.number(p.limit)} 字节（${(p.limit / 1024 / 1024).toFixed(0)} MB）。`,
  storage_limit_exceeded: (p, f) =>
    `最多同时保存 ${f.number(p.max_files)} 个文件、共 ${f.number(p.max_bytes)} 字节；请删除不再需要的文件。`,
  service_unavailable: () => "sluice 的数据存储暂时没有响应，请几秒后再试。",
  store_unavailable: (p) => `数据存储没有响应（${p.operation}）。`,
  rate_limits_not_object: (p) => `${p.field} 必须是含 rpm、tpm 和 concurrency 的对象。`,
  rate_limits_unknown: (p) => `${p.field} 只接受 rpm、tpm 和 concurrency，不接受 ${p.unknown}。`,
  group_rate_limits_not_object: (p) => `${p.field} 必须是分组名到限额的映射。`,
};

export const samples: Samples<Messages> = {
  insufficient_quota: { key: "sk-abc…xyz" },
  too_many_sign_ins: { retry_after_seconds: 1 },
  too_many_registrations: { retry_after_seconds: 600 },
  too_many_redemptions: { retry_after_seconds: 30 },
  file_too_large: { bytes: 600_000_000, limit: 512 * 1024 * 1024 },
  storage_limit_exceeded: { max_files: 1, max_bytes: 1_000_000 },
  service_unavailable: {},
  store_unavailable: { operation: "PutItem" },
  rate_limits_not_object: { field: "rate_limits" },
  rate_limits_unknown: { field: "rate_limits", unknown: "rph" },
  group_rate_limits_not_object: { field: "group_rate_limits" },
};
