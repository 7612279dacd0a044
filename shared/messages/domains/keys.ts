/** API keys as their owners and admins manage them. */
import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  too_many_keys: { max: number };
  key_not_found: NoParams;
  key_expiry_in_past: NoParams;
}

export const en: Entries<Messages> = {
  too_many_keys: (p, f) =>
    `A user may have at most ${f.plural(p.max, { one: "# API key", other: "# API keys" })} on this site. Delete one to create another.`,
  key_not_found: () => "Key not found.",
  key_expiry_in_past: () => "expired_time must be in the future (unix seconds), or -1 for never.",
};

export const zh: Entries<Messages> = {
  too_many_keys: (p, f) =>
    `本站每个用户最多可有 ${f.number(p.max)} 个 API 密钥。请先删除一个再创建。`,
  key_not_found: () => "找不到该密钥。",
  key_expiry_in_past: () => "过期时间必须在将来（Unix 秒），或为 -1 表示永不过期。",
};

export const samples: Samples<Messages> = {
  too_many_keys: { max: 1 },
  key_not_found: {},
  key_expiry_in_past: {},
};
