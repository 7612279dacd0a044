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
};

export const zh: Entries<Messages> = {
  route_not_found: (p) => `无效的地址（${p.method} ${p.path}）。`,
  method_not_allowed: (p) => `${p.path} 不接受 ${p.method} 请求。`,
  path_not_found: (p) => `${p.path}… 处没有内容。`,
  csrf_token_invalid: () => "此操作缺少会话的 X-CSRF-Token 请求头。请刷新控制台后重试。",
  server_error: (p) =>
    `服务器处理请求时出错。如果问题持续出现，请将请求 ID ${p.request_id} 告知 sluice 管理员。`,
  upstream_error: () => "无法连接上游服务商，请稍后再试。",
};

export const samples: Samples<Messages> = {
  route_not_found: { method: "GET", path: "/api/nothing" },
  method_not_allowed: { method: "PUT", path: "/api/status" },
  path_not_found: { path: "/api/user/aaaa" },
  csrf_token_invalid: {},
  server_error: { request_id: "req_123" },
  upstream_error: {},
};
