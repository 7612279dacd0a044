/** What the HTTP rim says before or after a route runs: no such route, CSRF, a server fault. */

import type { Entries, Samples } from "../catalogue";
import type { NoParams } from "../codes";

export interface Messages {
  route_not_found: { method: string; path: string };
  method_not_allowed: { method: string; path: string };
  path_not_found: { path: string };
  csrf_token_invalid: NoParams;
  server_error: { request_id: string };
  upstream_error: NoParams;
  body_empty: NoParams;
  body_too_deep: { max: number };
  /** `megabytes`: the body's size. */
  body_too_many_items: {
    values: number;
    containers: number;
    /** String values (keys not counted). */
    strings: number;
    keys: number;
    weight: number;
    max: number;
    megabytes: number;
  };
  /** `detail`: the parser's own words (English), "" when it gave none. */
  body_not_json: { detail: string };
  body_not_object: NoParams;
  parameter_missing: { field: string };
  parameter_not_string: { field: string };
  parameter_not_integer: { field: string };
  parameter_out_of_range: { field: string; min: number; max: number };
  parameter_not_boolean: { field: string };
  multipart_required: NoParams;
  multipart_unreadable: NoParams;
  /** `accepted`: the types, " or "-joined; `sent`: the type sent ("" when none). */
  unsupported_media_type: { accepted: string; first: string; sent: string };
  cross_site_request: NoParams;
  file_not_found: { path: string };
  file_object_not_found: { id: string };
}

export const en: Entries<Messages> = {
  // OpenAI's own wording for a path it does not serve.
  route_not_found: (p) => `Invalid URL (${p.method} ${p.path})`,
  method_not_allowed: (p) => `Method ${p.method} is not allowed on ${p.path}.`,
  path_not_found: (p) => `Nothing is found at ${p.path}…`,
  csrf_token_invalid: () =>
    "This change needs the X-CSRF-Token header of your session. Reload the console and try again.",
  server_error: (p) =>
    `The server had an error while processing your request. Contact your sluice administrator with request ID ${p.request_id} if it keeps happening.`,
  upstream_error: () => "The upstream provider could not be reached. Please try again later.",
  body_empty: () => "The request body is empty; this endpoint expects a JSON object.",
  body_too_deep: (p, f) =>
    `The JSON body of your request nests deeper than ${f.plural(p.max, { one: "# level", other: "# levels" })}.`,
  body_too_many_items: (p, f) =>
    `The JSON body of your request holds too much to parse here: ${f.number(p.values)} values (${f.number(p.containers)} of them arrays or objects, ${f.number(p.strings)} strings) and ${f.number(p.keys)} keys weigh ${f.number(p.weight)} (a value counts as 1, a string, array or object as 2, a key as 3), and a body of ${f.number(Math.ceil(p.megabytes * 10) / 10)} MB may weigh at most ${f.number(p.max)}. Send less in one request: split a long list of inputs, or shorten the conversation.`,
  body_not_json: (p) =>
    `We could not parse the JSON body of your request${p.detail ? ` (${p.detail})` : ""}.`,
  body_not_object: () => "The request body must be a JSON object.",
  parameter_missing: (p) => `You must provide a ${p.field} parameter.`,
  parameter_not_string: (p) => `Invalid type for '${p.field}': expected a string.`,
  parameter_not_integer: (p) => `Invalid type for '${p.field}': expected an integer.`,
  parameter_out_of_range: (p) =>
    `Invalid '${p.field}': expected an integer from ${p.min} to ${p.max}.`,
  parameter_not_boolean: (p) => `Invalid type for '${p.field}': expected a boolean.`,
  multipart_required: () =>
    "This endpoint takes multipart/form-data (a file upload), with its boundary in the Content-Type.",
  multipart_unreadable: () =>
    'The multipart/form-data body could not be parsed. It must follow RFC 7578 as fetch and browsers send it: every part closed by the boundary, file names as filename="…" (UTF-8, with `"` sent as %22; filename*= is not used in form data).',
  unsupported_media_type: (p) =>
    `This endpoint takes a ${p.accepted} body: send Content-Type: ${p.first}${p.sent ? ` (not ${p.sent})` : ""}.`,
  cross_site_request: () =>
    "This request comes from another site's page. Sign in and register on this site's own console.",
  file_not_found: (p) => `No such file: ${p.path}`,
  // OpenAI's wording for a file id it does not hold.
  file_object_not_found: (p) => `No such File object: ${p.id}`,
};

export const zh: Entries<Messages> = {
  route_not_found: (p) => `无效的地址（${p.method} ${p.path}）。`,
  method_not_allowed: (p) => `${p.path} 不接受 ${p.method} 请求。`,
  path_not_found: (p) => `${p.path}… 处没有内容。`,
  csrf_token_invalid: () => "此操作缺少会话的 X-CSRF-Token 请求头。请刷新控制台后重试。",
  server_error: (p) =>
    `服务器处理请求时出错。如果问题持续出现，请将请求 ID ${p.request_id} 告知 sluice 管理员。`,
  upstream_error: () => "无法连接上游服务商，请稍后再试。",
  body_empty: () => "请求体为空；此接口需要一个 JSON 对象。",
  body_too_deep: (p, f) => `请求的 JSON 请求体嵌套超过 ${f.number(p.max)} 层。`,
  body_too_many_items: (p, f) =>
    `请求的 JSON 请求体内容过多，无法在此解析：${f.number(p.values)} 个值（其中 ${f.number(p.containers)} 个数组或对象、${f.number(p.strings)} 个字符串）和 ${f.number(p.keys)} 个键折合权重共计 ${f.number(p.weight)}（每个值计 1，每个字符串、数组或对象计 2，每个键计 3），而 ${f.number(Math.ceil(p.megabytes * 10) / 10)} MB 的请求体权重最多为 ${f.number(p.max)}。请减少单个请求的内容：把很长的输入列表拆成多个请求，或缩短对话。`,
  body_not_json: (p) => `无法解析请求的 JSON 请求体${p.detail ? `（${p.detail}）` : ""}。`,
  body_not_object: () => "请求体必须是 JSON 对象。",
  parameter_missing: (p) => `必须提供参数 ${p.field}。`,
  parameter_not_string: (p) => `'${p.field}' 的类型无效：应为字符串。`,
  parameter_not_integer: (p) => `'${p.field}' 的类型无效：应为整数。`,
  parameter_out_of_range: (p, f) =>
    `'${p.field}' 无效：应为 ${f.number(p.min)} 到 ${f.number(p.max)} 之间的整数。`,
  parameter_not_boolean: (p) => `'${p.field}' 的类型无效：应为布尔值。`,
  multipart_required: () =>
    "此接口需要 multipart/form-data（文件上传），并在 Content-Type 中给出 boundary。",
  multipart_unreadable: () =>
    '无法解析 multipart/form-data 请求体。它必须像 fetch 和浏览器发送的那样遵循 RFC 7578：每个部分以 boundary 结束，文件名写作 filename="…"（UTF-8，`"` 写作 %22；表单数据中不使用 filename*=）。',
  unsupported_media_type: (p) =>
    `此接口需要 ${p.accepted} 请求体：请发送 Content-Type: ${p.first}${p.sent ? `（而不是 ${p.sent}）` : ""}。`,
  cross_site_request: () => "此请求来自其他网站的页面。请在本站自己的控制台登录和注册。",
  file_not_found: (p) => `没有这个文件：${p.path}`,
  file_object_not_found: (p) => `没有这个文件对象：${p.id}`,
};

export const samples: Samples<Messages> = {
  route_not_found: { method: "GET", path: "/api/nothing" },
  method_not_allowed: { method: "PUT", path: "/api/status" },
  path_not_found: { path: "/api/user/aaaa" },
  csrf_token_invalid: {},
  server_error: { request_id: "req_123" },
  upstream_error: {},
  body_empty: {},
  body_too_deep: { max: 64 },
  body_too_many_items: {
    values: 2_883_590,
    containers: 4,
    strings: 4,
    keys: 4,
    weight: 2_883_610,
    max: 61_961,
    megabytes: 5.5,
  },
  body_not_json: { detail: "Unexpected end of JSON input" },
  body_not_object: {},
  parameter_missing: { field: "model" },
  parameter_not_string: { field: "model" },
  parameter_not_integer: { field: "n" },
  parameter_out_of_range: { field: "n", min: 1, max: 10 },
  parameter_not_boolean: { field: "stream" },
  multipart_required: {},
  multipart_unreadable: {},
  unsupported_media_type: {
    accepted: "application/json",
    first: "application/json",
    sent: "text/plain",
  },
  cross_site_request: {},
  file_not_found: { path: "/assets/nothing.js" },
  file_object_not_found: { id: "file-abc123" },
};
