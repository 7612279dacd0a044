/** The site's settings (shared/site): sections, branding, the logo, pages. */

import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

type Field = { field: string };

export interface Messages {
  site_section_unknown: { section: string };
  site_fields_unknown: { section: string; fields: string; known: string };
  site_options_changed: NoParams;
  turnstile_needs_keys: NoParams;
  site_color_format: Field;
  site_color_contrast: Field & { color: string; ratio: string; min: number };
  site_logo_version_readonly: Field;
  site_per_language_invalid: Field & { languages: string };
  site_language_unknown: Field & { lang: string; languages: string };
  site_image_origins_invalid: Field & { max: number };
  site_logo_empty: NoParams;
  site_logo_too_large: { bytes: number; max: number };
  site_logo_type: NoParams;
  site_logo_missing: NoParams;
  site_page_unknown: { page: string; pages: string };
  site_announcements_invalid: { max: number };
}

export const en: Entries<Messages> = {
  site_section_unknown: (p) => `The site has no settings section ${p.section}.`,
  site_fields_unknown: (p) => `${p.section} has no field ${p.fields}: it has ${p.known}.`,
  site_options_changed: () =>
    "The site's options changed since you read them; read them again and retry.",
  turnstile_needs_keys: () =>
    "trial_verification turnstile needs turnstile_site_key and turnstile_secret (or the SLUICE_TURNSTILE_SECRET setting).",
  site_color_format: (p) => `${p.field} must be a colour as #rrggbb.`,
  site_color_contrast: (p) =>
    `${p.field} ${p.color} is too light for white text on it (contrast ${p.ratio}:1, at least ${p.min}:1 is needed): pick a darker one.`,
  site_logo_version_readonly: (p) => `${p.field} is set by uploading a logo (PUT /api/site/logo).`,
  site_per_language_invalid: (p) =>
    `${p.field} must be an object of text per language (${p.languages}).`,
  site_language_unknown: (p) =>
    `${p.field} has text for ${p.lang}: the languages are ${p.languages}.`,
  site_image_origins_invalid: (p, f) =>
    `${p.field} must be a list of at most ${f.plural(p.max, { one: "# https origin", other: "# https origins" })}, such as https://images.example.com.`,
  site_logo_empty: () => "The logo is empty: send the image's bytes.",
  site_logo_too_large: (p, f) =>
    `The logo is ${f.plural(p.bytes, { one: "# byte", other: "# bytes" })}; at most ${f.number(p.max)} are accepted.`,
  site_logo_type: () =>
    "The logo must be a PNG, JPEG or WebP image (SVG is not accepted: it can carry script).",
  site_logo_missing: () => "The site has no logo.",
  site_page_unknown: (p) => `There is no page ${p.page}: the pages are ${p.pages}.`,
  site_announcements_invalid: (p, f) =>
    `announcements must be a list of at most ${f.plural(p.max, { one: "# announcement", other: "# announcements" })}, each with a title or a body.`,
};

export const zh: Entries<Messages> = {
  site_section_unknown: (p) => `站点设置中没有 ${p.section} 这一部分。`,
  site_fields_unknown: (p) => `${p.section} 没有字段 ${p.fields}，可用字段为：${p.known}。`,
  site_options_changed: () => "站点设置在您读取之后已被修改，请重新读取后再试。",
  turnstile_needs_keys: () =>
    "开启 Turnstile 人机验证需要站点密钥和密钥（turnstile_site_key、turnstile_secret，或 SLUICE_TURNSTILE_SECRET 设置）。",
  site_color_format: (p, f) => `${f.field(p.field)}必须是 #rrggbb 格式的颜色。`,
  site_color_contrast: (p, f) =>
    `${f.field(p.field)} ${p.color} 太浅，白色文字在其上难以阅读（对比度 ${p.ratio}:1，至少需要 ${p.min}:1），请选择更深的颜色。`,
  site_logo_version_readonly: (p, f) => `${f.field(p.field)}由上传标志（PUT /api/site/logo）设置。`,
  site_per_language_invalid: (p, f) =>
    `${f.field(p.field)}必须是按语言（${p.languages}）给出文本的对象。`,
  site_language_unknown: (p, f) =>
    `${f.field(p.field)}含有 ${p.lang} 的文本，可用语言为：${p.languages}。`,
  site_image_origins_invalid: (p, f) =>
    `${f.field(p.field)}必须是最多 ${f.number(p.max)} 个 https 来源的列表，例如 https://images.example.com。`,
  site_logo_empty: () => "标志为空，请上传图片内容。",
  site_logo_too_large: (p, f) =>
    `标志大小为 ${f.number(p.bytes)} 字节，最多接受 ${f.number(p.max)} 字节。`,
  site_logo_type: () => "标志必须是 PNG、JPEG 或 WebP 图片（不接受 SVG：它可能包含脚本）。",
  site_logo_missing: () => "站点没有标志。",
  site_page_unknown: (p) => `没有 ${p.page} 页面，可用页面为：${p.pages}。`,
  site_announcements_invalid: (p, f) =>
    `公告必须是最多 ${f.number(p.max)} 条的列表，每条须有标题或正文。`,
};

export const samples: Samples<Messages> = {
  site_section_unknown: { section: "nope" },
  site_fields_unknown: { section: "trial", fields: "quota", known: "new_user_quota, verification" },
  site_options_changed: {},
  turnstile_needs_keys: {},
  site_color_format: { field: "color" },
  site_color_contrast: { field: "color", color: "#777777", ratio: "4.48", min: 4.5 },
  site_logo_version_readonly: { field: "logo_version" },
  site_per_language_invalid: { field: "footer", languages: "en, zh" },
  site_language_unknown: { field: "footer", lang: "fr", languages: "en, zh" },
  site_image_origins_invalid: { field: "image_origins", max: 10 },
  site_logo_empty: {},
  site_logo_too_large: { bytes: 200_000, max: 102_400 },
  site_logo_type: {},
  site_logo_missing: {},
  site_page_unknown: { page: "faq", pages: "home, about" },
  site_announcements_invalid: { max: 10 },
};
