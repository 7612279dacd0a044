/** What billing refuses: rate limits, models without a price, sizes not priced, price lists too big. */
// OpenAI's way of saying a wait in its rate-limit messages ("8.64s"), as its headers do.
import { formatDuration } from "../../billing/rate-limits";
import type { Entries, Samples } from "../catalogue";

/**
 * Whose limit: `on` is "key" (with the masked `key`) or "user" (all of a user's keys);
 * `retry_after_ms`: the wait until the window lets the call through.
 */
type Limit = { on: string; key?: string; limit: number; retry_after_ms: number };

export interface Messages {
  rate_limit_concurrency: Limit;
  rate_limit_rpm: Limit & { used: number };
  rate_limit_tpm: Limit & { used: number };
  /** `served_as`: the upstream name when the channel maps the model to another. */
  model_not_priced: { model: string; served_as?: string };
  image_size_unavailable: { size: string };
  image_quality_unavailable: { quality: string };
  price_list_too_big: { kb: number; max_kb: number };
  model_channels_disabled: { model: string };
  model_channels_resting: { model: string; retry_after_seconds: number };
}

const onEn = (p: Limit) =>
  p.on === "key" ? `API key ${p.key ?? ""}` : "your account (all your API keys together)";
const onZh = (p: Limit) =>
  p.on === "key" ? `API 密钥 ${p.key ?? ""}` : "你的账户（所有 API 密钥合计）";
const waitZh = (p: Limit, f: Parameters<Entries<Messages>["rate_limit_rpm"]>[1]) =>
  f.duration(Math.max(1, Math.ceil(p.retry_after_ms / 1000)));
const modelEn = (p: Messages["model_not_priced"]) =>
  p.served_as === undefined ? `\`${p.model}\`` : `\`${p.model}\` (served as \`${p.served_as}\`)`;

export const en: Entries<Messages> = {
  rate_limit_concurrency: (p) =>
    `Rate limit reached for requests in flight on ${onEn(p)}: Limit ${p.limit}. Please try again when one of them has finished.`,
  rate_limit_rpm: (p) =>
    `Rate limit reached for requests per min (RPM) on ${onEn(p)}: Limit ${p.limit}, Used ${p.used}, Requested 1. Please try again in ${formatDuration(p.retry_after_ms)}.`,
  rate_limit_tpm: (p) =>
    `Rate limit reached for tokens per min (TPM) on ${onEn(p)}: Limit ${p.limit}, Used ${p.used} (calls in flight count their prompt and max_tokens until they finish). Please try again in ${formatDuration(p.retry_after_ms)}.`,
  model_not_priced: (p) =>
    `The model ${modelEn(p)} has no price on this sluice, so it cannot be used. An administrator can set one with PUT /api/pricing.`,
  image_size_unavailable: (p) => `Images of size ${p.size} are not available for this model.`,
  image_quality_unavailable: (p) =>
    `Images of quality ${p.quality} are not available for this model.`,
  price_list_too_big: (p) =>
    `The price list would take ${p.kb} KB, more than the ${p.max_kb} KB it may (it is kept as one DynamoDB item, at most 400 KB): price fewer models.`,
  model_channels_disabled: (p) =>
    `No channel can serve \`${p.model}\` until an administrator re-enables one.`,
  model_channels_resting: (p) =>
    `Every channel serving \`${p.model}\` is busy or failing right now. Please retry in ${p.retry_after_seconds} s.`,
};

export const zh: Entries<Messages> = {
  rate_limit_concurrency: (p, f) =>
    `${onZh(p)}的并发请求已达上限：限额 ${f.number(p.limit)}。请在其中一个请求完成后再试。`,
  rate_limit_rpm: (p, f) =>
    `${onZh(p)}的每分钟请求数（RPM）已达上限：限额 ${f.number(p.limit)}，已用 ${f.number(p.used)}，本次 1。请${waitZh(p, f)}后再试。`,
  rate_limit_tpm: (p, f) =>
    `${onZh(p)}的每分钟令牌数（TPM）已达上限：限额 ${f.number(p.limit)}，已用 ${f.number(p.used)}（进行中的请求在完成前按提示词加 max_tokens 计）。请${waitZh(p, f)}后再试。`,
  model_not_priced: (p) =>
    `模型 ${p.model}${p.served_as === undefined ? "" : `（上游名称 ${p.served_as}）`}在本站没有定价，因此无法使用。管理员可以通过 PUT /api/pricing 设置价格。`,
  image_size_unavailable: (p) => `此模型不提供 ${p.size} 尺寸的图片。`,
  image_quality_unavailable: (p) => `此模型不提供 ${p.quality} 质量的图片。`,
  price_list_too_big: (p, f) =>
    `价格表将占用 ${f.number(p.kb)} KB，超过允许的 ${f.number(p.max_kb)} KB（它保存为一个 DynamoDB 条目，最大 400 KB）：请减少定价的模型。`,
  model_channels_disabled: (p) => `在管理员重新启用渠道之前，没有渠道可以提供 ${p.model}。`,
  model_channels_resting: (p, f) =>
    `提供 ${p.model} 的所有渠道此刻都繁忙或出错。请${f.duration(p.retry_after_seconds)}后重试。`,
};

export const samples: Samples<Messages> = {
  rate_limit_concurrency: { on: "key", key: "sk-abc…xyz", limit: 2, retry_after_ms: 1000 },
  rate_limit_rpm: { on: "user", limit: 10, used: 10, retry_after_ms: 8_640 },
  rate_limit_tpm: { on: "key", key: "sk-abc…xyz", limit: 1000, used: 990, retry_after_ms: 61_500 },
  model_not_priced: { model: "my-model", served_as: "gpt-4o" },
  image_size_unavailable: { size: "4096x4096" },
  image_quality_unavailable: { quality: "ultra" },
  price_list_too_big: { kb: 360, max_kb: 350 },
  model_channels_disabled: { model: "gpt-4o" },
  model_channels_resting: { model: "gpt-4o", retry_after_seconds: 30 },
};
