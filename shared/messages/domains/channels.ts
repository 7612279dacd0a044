/** Channels (upstream providers) as admins set them up. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  channel_not_found: NoParams;
  base_url_required: NoParams;
  base_url_invalid: NoParams;
  channel_models_required: NoParams;
  anthropic_version_invalid: NoParams;
  channel_config_not_one_of: { key: string; allowed: string; value: string };
  channel_efforts_invalid: { value: string };
  channel_models_list_invalid: { key: string; value: string };
  bedrock_region_required: NoParams;
  bedrock_region_invalid: { region: string };
  bedrock_betas_invalid: NoParams;
}

export const en: Entries<Messages> = {
  channel_not_found: () => "Channel not found.",
  base_url_required: () => "base_url is required, e.g. https://api.openai.com/v1.",
  base_url_invalid: () => "base_url must be an http(s) URL, e.g. https://api.openai.com/v1.",
  channel_models_required: () => "models must list at least one model.",
  anthropic_version_invalid: () =>
    'config.anthropic_version must be an API version date, e.g. "2023-06-01".',
  channel_config_not_one_of: (p) =>
    `config.${p.key} must be one of ${p.allowed}; "${p.value}" is not.`,
  channel_efforts_invalid: (p) =>
    `config.efforts must be a comma list of reasoning_effort names, e.g. "xhigh,max"; "${p.value}" is not one.`,
  channel_models_list_invalid: (p) =>
    `config.${p.key} must be a comma list of model names (or "*"), e.g. "o3-pro,gpt-5-codex"; "${p.value}" is not one.`,
  bedrock_region_required: () => "A bedrock channel needs config.region, e.g. us-east-1.",
  bedrock_region_invalid: (p) =>
    `config.region "${p.region}" is not an AWS region name such as us-east-1.`,
  bedrock_betas_invalid: () =>
    "config.betas must be a comma list of beta names (a trailing * matches any suffix), or none.",
};

export const zh: Entries<Messages> = {
  channel_not_found: () => "找不到该渠道。",
  base_url_required: () => "请填写 base_url，例如 https://api.openai.com/v1。",
  base_url_invalid: () => "base_url 必须是 http(s) 地址，例如 https://api.openai.com/v1。",
  channel_models_required: () => "models 至少要列出一个模型。",
  anthropic_version_invalid: () =>
    'config.anthropic_version 必须是 API 版本日期，例如 "2023-06-01"。',
  channel_config_not_one_of: (p) => `config.${p.key} 必须是 ${p.allowed} 之一；"${p.value}" 不是。`,
  channel_efforts_invalid: (p) =>
    `config.efforts 必须是以逗号分隔的 reasoning_effort 名称，例如 "xhigh,max"；"${p.value}" 不是。`,
  channel_models_list_invalid: (p) =>
    `config.${p.key} 必须是以逗号分隔的模型名（或 "*"），例如 "o3-pro,gpt-5-codex"；"${p.value}" 不是。`,
  bedrock_region_required: () => "bedrock 渠道需要 config.region，例如 us-east-1。",
  bedrock_region_invalid: (p) => `config.region "${p.region}" 不是 us-east-1 这样的 AWS 区域名。`,
  bedrock_betas_invalid: () =>
    "config.betas 必须是以逗号分隔的 beta 名称（末尾的 * 匹配任意后缀），或 none。",
};

export const samples: Samples<Messages> = {
  channel_not_found: {},
  base_url_required: {},
  base_url_invalid: {},
  channel_models_required: {},
  anthropic_version_invalid: {},
  channel_config_not_one_of: { key: "responses", allowed: "auto, always, never", value: "chat" },
  channel_efforts_invalid: { value: "xhigh; rm -rf" },
  channel_models_list_invalid: { key: "responses_only", value: "" },
  bedrock_region_required: {},
  bedrock_region_invalid: { region: "mars-1" },
  bedrock_betas_invalid: {},
};
