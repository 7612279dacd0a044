/** A request's fields: what the field readers (management/envelope.ts) answer a bad value with. */
import type { Entries, Samples } from "../catalogue";

type Field = { field: string };

export interface Messages {
  field_required: Field;
  field_not_string: Field;
  field_empty: Field;
  field_too_long: Field & { max: number };
  field_not_integer: Field;
  field_not_number: Field;
  field_below_min: Field & { min: number };
  field_above_max: Field & { max: number };
  field_not_boolean: Field;
  field_not_one_of: Field & { allowed: string };
  field_not_string_list: Field;
  field_not_string_map: Field;
  password_too_short: Field & { min: number };
}

export const en: Entries<Messages> = {
  field_required: (p) => `${p.field} is required.`,
  field_not_string: (p) => `${p.field} must be a string.`,
  field_empty: (p) => `${p.field} must not be empty.`,
  field_too_long: (p, f) =>
    `${p.field} must be at most ${f.plural(p.max, { one: "# character", other: "# characters" })}.`,
  field_not_integer: (p) => `${p.field} must be a whole number.`,
  field_not_number: (p) => `${p.field} must be a number.`,
  field_below_min: (p) => `${p.field} must be at least ${p.min}.`,
  field_above_max: (p) => `${p.field} must be at most ${p.max}.`,
  field_not_boolean: (p) => `${p.field} must be true or false.`,
  field_not_one_of: (p) => `${p.field} must be one of: ${p.allowed}.`,
  field_not_string_list: (p) => `${p.field} must be a list of strings.`,
  field_not_string_map: (p) => `${p.field} must be an object of strings.`,
  password_too_short: (p, f) =>
    `${p.field} must be at least ${f.plural(p.min, { one: "# character", other: "# characters" })}.`,
};

export const zh: Entries<Messages> = {
  field_required: (p, f) => `请填写${f.field(p.field)}。`,
  field_not_string: (p, f) => `${f.field(p.field)}必须是文本。`,
  field_empty: (p, f) => `${f.field(p.field)}不能为空。`,
  field_too_long: (p, f) => `${f.field(p.field)}最多 ${f.number(p.max)} 个字符。`,
  field_not_integer: (p, f) => `${f.field(p.field)}必须是整数。`,
  field_not_number: (p, f) => `${f.field(p.field)}必须是数字。`,
  field_below_min: (p, f) => `${f.field(p.field)}不能小于 ${f.number(p.min)}。`,
  field_above_max: (p, f) => `${f.field(p.field)}不能大于 ${f.number(p.max)}。`,
  field_not_boolean: (p, f) => `${f.field(p.field)}必须是 true 或 false。`,
  field_not_one_of: (p, f) => `${f.field(p.field)}必须是以下之一：${p.allowed}。`,
  field_not_string_list: (p, f) => `${f.field(p.field)}必须是文本列表。`,
  field_not_string_map: (p, f) => `${f.field(p.field)}必须是键和值都为文本的对象。`,
  password_too_short: (p, f) => `${f.field(p.field)}至少需要 ${f.number(p.min)} 个字符。`,
};

/**
 * Chinese names of the fields the console's forms send (a field not named here is shown as
 * sent). Each is shown in its place in a sentence, e.g. "请填写用户名。".
 */
export const labels: Readonly<Record<string, string>> = {
  username: "用户名",
  password: "密码",
  current_password: "当前密码",
  new_password: "新密码",
  original_password: "原密码",
  display_name: "显示名称",
  email: "电子邮箱",
  name: "名称",
  key: "密钥",
  models: "模型",
  group: "分组",
  quota: "额度",
  remain_quota: "剩余额度",
  unlimited_quota: "无限额度",
  expired_time: "过期时间",
  count: "数量",
  invitation_code: "邀请码",
  turnstile_token: "人机验证",
  type: "类型",
  base_url: "接口地址",
  priority: "优先级",
  weight: "权重",
  status: "状态",
  role: "角色",
  model: "模型",
  model_mapping: "模型映射",
  config: "配置",
  rpm: "每分钟请求数",
  tpm: "每分钟令牌数",
  concurrency: "并发数",
};

export const samples: Samples<Messages> = {
  field_required: { field: "username" },
  field_not_string: { field: "username" },
  field_empty: { field: "name" },
  field_too_long: { field: "name", max: 1 },
  field_not_integer: { field: "quota" },
  field_not_number: { field: "weight" },
  field_below_min: { field: "count", min: 1 },
  field_above_max: { field: "count", max: 100 },
  field_not_boolean: { field: "unlimited_quota" },
  field_not_one_of: { field: "role", allowed: "user, admin" },
  field_not_string_list: { field: "models" },
  field_not_string_map: { field: "model_mapping" },
  password_too_short: { field: "password", min: 8 },
};
