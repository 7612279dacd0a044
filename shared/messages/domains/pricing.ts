/**
 * Prices: the price list as admins edit it (`field` is the path in the body, e.g.
 * `models.gpt-4o.tiers[0]`), and prices imported from new-api or LiteLLM data.
 */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

type Field = { field: string };

export interface Messages {
  price_list_changed: NoParams;
  price_list_changed_preview: NoParams;
  price_list_kept_changing: NoParams;
  prices_changed_by_another: { models: string };
  import_changed_since_preview: NoParams;
  prices_patch_not_object: NoParams;
  prices_expected_not_object: NoParams;
  prices_not_object: NoParams;
  group_discounts_not_object: NoParams;
  group_multipliers_not_object: NoParams;
  group_multiplier_invalid: Field;
  price_unknown_fields: Field & { unknown: string; known: string; count: number };
  price_not_object: Field;
  price_sets_nothing: Field;
  tiers_not_list: Field & { max: number };
  tier_not_object: Field;
  tier_above_invalid: Field;
  tiers_not_sorted: Field;
  tier_basis_invalid: Field;
  tiers_mixed_basis: Field;
  tier_rates_not_object: Field;
  excess_tier_answer_rates: Field & { rates: string };
  tier_sets_no_rate: Field;
  price_not_usd: Field;
  price_source_invalid: Field & { max: number };
  date_invalid: Field;
  image_prices_invalid: Field;
  multiplier_out_of_range: Field;
  import_format_invalid: { allowed: string };
  import_data_required: NoParams;
  import_models_invalid: { max: number };
  import_models_unknown: { models: string; format: string };
  import_not_number_map: Field;
  import_new_api_empty: { options: string };
  import_new_api_item_invalid: Field;
  import_quota_per_unit_invalid: NoParams;
  import_too_deep: Field & { max: number };
  import_not_json: Field & { detail: string };
  import_amount_invalid: Field & { value: string };
  import_litellm_not_object: NoParams;
  import_litellm_entry_invalid: { entry: string };
}

export const en: Entries<Messages> = {
  price_list_changed: () => "The price list changed since you read it; read it again and retry.",
  price_list_changed_preview: () =>
    "The price list changed since you read it; preview the import again.",
  price_list_kept_changing: () => "The price list kept changing; retry.",
  prices_changed_by_another: (p) =>
    `Another admin changed the price of ${p.models} since you read it; read it again and retry.`,
  import_changed_since_preview: () =>
    "Prices this import changes were changed since its preview; preview it again.",
  prices_patch_not_object: () => "models must map model names to prices (null removes one).",
  prices_expected_not_object: () =>
    "expected must map model names to their prices as read (null: none).",
  prices_not_object: () => "models must map model names to prices.",
  group_discounts_not_object: () => "group_batch_discounts must map group names to multipliers.",
  group_multipliers_not_object: () => "groups must map group names to multipliers.",
  group_multiplier_invalid: (p) => `${p.field} must be a multiplier, 0 or more.`,
  price_unknown_fields: (p, f) =>
    `${p.field} has ${f.plural(p.count, { one: "unknown field", other: "unknown fields" })}: ${p.unknown}. Known: ${p.known}.`,
  price_not_object: (p) => `${p.field} must be an object.`,
  price_sets_nothing: (p) => `${p.field} sets no price; use {"free": true} for a free model.`,
  tiers_not_list: (p, f) =>
    `${p.field} must be a list of at most ${f.plural(p.max, { one: "# tier", other: "# tiers" })}.`,
  tier_not_object: (p) => `${p.field} must be {"above", "basis", "rates"}.`,
  tier_above_invalid: (p) => `${p.field} must be a whole number of prompt tokens, 1 or more.`,
  tiers_not_sorted: (p) => `${p.field} must be sorted by "above", each above the one before.`,
  tier_basis_invalid: (p) => `${p.field} must be one of: whole, excess.`,
  tiers_mixed_basis: (p) => `${p.field} must all have the same basis.`,
  tier_rates_not_object: (p) => `${p.field} must map rates to USD per 1M tokens.`,
  excess_tier_answer_rates: (p) =>
    `${p.field} is an "excess" tier, which prices the prompt's tokens past its threshold: it takes input-side rates only, not ${p.rates}.`,
  tier_sets_no_rate: (p) => `${p.field} sets no rate.`,
  price_not_usd: (p) => `${p.field} must be a price in USD, 0 or more.`,
  price_source_invalid: (p, f) =>
    `${p.field} must be a text of at most ${f.plural(p.max, { one: "# character", other: "# characters" })} (a URL or a note).`,
  date_invalid: (p) => `${p.field} must be a date, YYYY-MM-DD.`,
  image_prices_invalid: (p) => `${p.field} must map sizes to {quality: USD per image}.`,
  multiplier_out_of_range: (p) => `${p.field} is a multiplier between 0 and 1.`,
  import_format_invalid: (p) => `format must be one of: ${p.allowed}.`,
  import_data_required: () => "data is required: the exported prices, as JSON or as its text.",
  import_models_invalid: (p, f) =>
    `models must be a list of at most ${f.plural(p.max, { one: "# model name", other: "# model names" })}.`,
  import_models_unknown: (p) =>
    `models names ${p.models}, which the ${p.format} data does not have.`,
  import_not_number_map: (p) => `${p.field} must map names to numbers.`,
  import_new_api_empty: (p) =>
    `The new-api data has none of ${p.options}: send an export of its /api/option/, /api/ratio_config or /api/pricing, or the options as one object.`,
  import_new_api_item_invalid: (p) =>
    `new-api ${p.field} must be an option {key, value} or a model {model_name, …}.`,
  import_quota_per_unit_invalid: () => "new-api QuotaPerUnit must be a number above 0.",
  import_too_deep: (p, f) =>
    `${p.field} nests deeper than ${f.plural(p.max, { one: "# level", other: "# levels" })}.`,
  import_not_json: (p) => `${p.field} is not JSON (${p.detail}).`,
  import_amount_invalid: (p) => `${p.field} must be a number, 0 or more (it is ${p.value}).`,
  import_litellm_not_object: () =>
    "The LiteLLM data must be an object of model entries, as model_prices_and_context_window.json is.",
  import_litellm_entry_invalid: (p) => `LiteLLM entry "${p.entry}" must be an object.`,
};

export const zh: Entries<Messages> = {
  price_list_changed: () => "价格表在你读取之后已被修改；请重新读取后再试。",
  price_list_changed_preview: () => "价格表在你读取之后已被修改；请重新预览导入。",
  price_list_kept_changing: () => "价格表一直在变化；请重试。",
  prices_changed_by_another: (p) =>
    `另一位管理员在你读取之后修改了 ${p.models} 的价格；请重新读取后再试。`,
  import_changed_since_preview: () => "此次导入要修改的价格在预览之后已被修改；请重新预览。",
  prices_patch_not_object: () => "models 必须是模型名到价格的映射（null 表示删除）。",
  prices_expected_not_object: () => "expected 必须是模型名到读取时价格的映射（null 表示无）。",
  prices_not_object: () => "models 必须是模型名到价格的映射。",
  group_discounts_not_object: () => "group_batch_discounts 必须是分组名到倍率的映射。",
  group_multipliers_not_object: () => "groups 必须是分组名到倍率的映射。",
  group_multiplier_invalid: (p) => `${p.field} 必须是不小于 0 的倍率。`,
  price_unknown_fields: (p) => `${p.field} 含有未知字段：${p.unknown}。可用字段：${p.known}。`,
  price_not_object: (p) => `${p.field} 必须是对象。`,
  price_sets_nothing: (p) => `${p.field} 没有设置价格；免费模型请使用 {"free": true}。`,
  tiers_not_list: (p, f) => `${p.field} 必须是最多 ${f.number(p.max)} 个阶梯的列表。`,
  tier_not_object: (p) => `${p.field} 必须是 {"above", "basis", "rates"}。`,
  tier_above_invalid: (p) => `${p.field} 必须是不小于 1 的提示词令牌整数。`,
  tiers_not_sorted: (p) => `${p.field} 必须按 "above" 升序排列，每一级都高于前一级。`,
  tier_basis_invalid: (p) => `${p.field} 必须是以下之一：whole、excess。`,
  tiers_mixed_basis: (p) => `${p.field} 的 basis 必须全部相同。`,
  tier_rates_not_object: (p) => `${p.field} 必须是费率到每百万令牌美元价格的映射。`,
  excess_tier_answer_rates: (p) =>
    `${p.field} 是 "excess" 阶梯，只对超过阈值的提示词令牌计价：只接受输入侧费率，不接受 ${p.rates}。`,
  tier_sets_no_rate: (p) => `${p.field} 没有设置任何费率。`,
  price_not_usd: (p) => `${p.field} 必须是不小于 0 的美元价格。`,
  price_source_invalid: (p, f) =>
    `${p.field} 必须是最多 ${f.number(p.max)} 个字符的文本（网址或备注）。`,
  date_invalid: (p) => `${p.field} 必须是 YYYY-MM-DD 格式的日期。`,
  image_prices_invalid: (p) => `${p.field} 必须是尺寸到 {质量: 每张图片美元价格} 的映射。`,
  multiplier_out_of_range: (p) => `${p.field} 是 0 到 1 之间的倍率。`,
  import_format_invalid: (p) => `format 必须是以下之一：${p.allowed}。`,
  import_data_required: () => "缺少 data：导出的价格，JSON 或其文本。",
  import_models_invalid: (p, f) => `models 必须是最多 ${f.number(p.max)} 个模型名的列表。`,
  import_models_unknown: (p) => `models 列出的 ${p.models} 不在 ${p.format} 数据中。`,
  import_not_number_map: (p) => `${p.field} 必须是名称到数字的映射。`,
  import_new_api_empty: (p) =>
    `new-api 数据中没有 ${p.options} 中的任何一项：请发送其 /api/option/、/api/ratio_config 或 /api/pricing 的导出，或以一个对象给出选项。`,
  import_new_api_item_invalid: (p) =>
    `new-api ${p.field} 必须是选项 {key, value} 或模型 {model_name, …}。`,
  import_quota_per_unit_invalid: () => "new-api 的 QuotaPerUnit 必须是大于 0 的数字。",
  import_too_deep: (p, f) => `${p.field} 的嵌套超过 ${f.number(p.max)} 层。`,
  import_not_json: (p) => `${p.field} 不是 JSON（${p.detail}）。`,
  import_amount_invalid: (p) => `${p.field} 必须是不小于 0 的数字（现为 ${p.value}）。`,
  import_litellm_not_object: () =>
    "LiteLLM 数据必须是由模型条目组成的对象，与 model_prices_and_context_window.json 相同。",
  import_litellm_entry_invalid: (p) => `LiteLLM 条目 "${p.entry}" 必须是对象。`,
};

export const samples: Samples<Messages> = {
  price_list_changed: {},
  price_list_changed_preview: {},
  price_list_kept_changing: {},
  prices_changed_by_another: { models: "gpt-4o, gpt-4o-mini" },
  import_changed_since_preview: {},
  prices_patch_not_object: {},
  prices_expected_not_object: {},
  prices_not_object: {},
  group_discounts_not_object: {},
  group_multipliers_not_object: {},
  group_multiplier_invalid: { field: "groups.vip" },
  price_unknown_fields: {
    field: "models.gpt-4o",
    unknown: "inptu",
    known: "input, output",
    count: 1,
  },
  price_not_object: { field: "models.gpt-4o" },
  price_sets_nothing: { field: "models.gpt-4o" },
  tiers_not_list: { field: "models.gpt-4o.tiers", max: 8 },
  tier_not_object: { field: "models.gpt-4o.tiers[0]" },
  tier_above_invalid: { field: "models.gpt-4o.tiers[0].above" },
  tiers_not_sorted: { field: "models.gpt-4o.tiers" },
  tier_basis_invalid: { field: "models.gpt-4o.tiers[0].basis" },
  tiers_mixed_basis: { field: "models.gpt-4o.tiers" },
  tier_rates_not_object: { field: "models.gpt-4o.tiers[0].rates" },
  excess_tier_answer_rates: { field: "models.gpt-4o.tiers[0]", rates: "output" },
  tier_sets_no_rate: { field: "models.gpt-4o.tiers[0].rates" },
  price_not_usd: { field: "models.gpt-4o.input" },
  price_source_invalid: { field: "models.gpt-4o.source", max: 500 },
  date_invalid: { field: "import.as_of" },
  image_prices_invalid: { field: "models.dall-e-3.image" },
  multiplier_out_of_range: { field: "batch_discount" },
  import_format_invalid: { allowed: "litellm, new-api" },
  import_data_required: {},
  import_models_invalid: { max: 1000 },
  import_models_unknown: { models: "gpt-9", format: "litellm" },
  import_not_number_map: { field: "ModelRatio" },
  import_new_api_empty: { options: "ModelRatio, CompletionRatio" },
  import_new_api_item_invalid: { field: "data[0]" },
  import_quota_per_unit_invalid: {},
  import_too_deep: { field: "data", max: 64 },
  import_not_json: { field: "data", detail: "Unexpected end of JSON input" },
  import_amount_invalid: { field: 'ModelRatio["gpt-4o"]', value: '"-1"' },
  import_litellm_not_object: {},
  import_litellm_entry_invalid: { entry: "gpt-4o" },
};
