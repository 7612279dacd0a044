/**
 * The client's Responses tools as chat functions, and the way back (design brief §10.2 rules 1,
 * 2 and 11). A `function` stays a function; a `custom` (freeform) tool becomes a function with
 * one string parameter `input`, its grammar kept in the description; a `namespace`'s tools are
 * flattened to `<namespace>__<name>`; `tool_search` run by the client is a function like any
 * other. Hosted tools (web_search, file_search, code_interpreter, …) cannot run on a chat
 * channel: they are left out and listed, so the face can say so (`x-sluice-tools-omitted`).
 * A chat function name is at most 64 characters: a longer one is cut and given a sha256 suffix.
 */
import { createHash } from "node:crypto";
import { InvalidRequest } from "../../../errors";

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields =>
  value !== null && typeof value === "object" && !Array.isArray(value);

/** What a chat function name stands for on the Responses side. */
export interface ToolName {
  kind: "function" | "custom" | "tool_search";
  name: string;
  namespace?: string;
}

/** The tools of one request: the chat functions, their meanings, and what was left out. */
export interface ToolTable {
  functions: Fields[];
  /** Chat function name → the Responses tool it stands for. */
  byChatName: Map<string, ToolName>;
  /** The hosted tools' types, left out (each once, in the order sent). */
  omitted: string[];
}

const MAX_NAME = 64;
const SEPARATOR = "__";

/** The chat function name of a (namespaced) tool name. */
export function chatNameOf(name: string, namespace?: string): string {
  const full = namespace ? `${namespace}${SEPARATOR}${name}` : name;
  if (full.length <= MAX_NAME) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 12);
  return `${full.slice(0, MAX_NAME - hash.length - 1)}_${hash}`;
}

const CUSTOM_PARAMETERS = {
  type: "object",
  properties: { input: { type: "string", description: "The tool's whole input, as raw text." } },
  required: ["input"],
  additionalProperties: false,
};

const TOOL_SEARCH_PARAMETERS = {
  type: "object",
  properties: { query: { type: "string" } },
  required: ["query"],
};

function customDescription(tool: Fields): string {
  const parts = [typeof tool.description === "string" ? tool.description : ""];
  const format = isObject(tool.format) ? tool.format : {};
  if (format.type === "grammar" && typeof format.definition === "string") {
    parts.push(
      `Pass the tool's input as the string \`input\`; it must match this ${String(format.syntax ?? "")} grammar:\n${format.definition}`,
    );
  } else {
    parts.push("Pass the tool's input as the string `input` (free-form text, not JSON).");
  }
  return parts.filter((p) => p !== "").join("\n\n");
}

/** The table of a Responses request's `tools` (and the tools a client-run tool_search loaded). */
export function toolTableOf(tools: unknown, loaded: unknown[] = []): ToolTable {
  const table: ToolTable = { functions: [], byChatName: new Map(), omitted: [] };
  const add = (chatName: string, meaning: ToolName, fn: Fields) => {
    const taken = table.byChatName.get(chatName);
    if (taken) {
      if (
        taken.kind === meaning.kind &&
        taken.name === meaning.name &&
        taken.namespace === meaning.namespace
      )
        return; // The same tool twice (e.g. declared and loaded again by tool_search).
      const says = (t: ToolName) => (t.namespace ? `${t.namespace}.${t.name}` : t.name);
      throw new InvalidRequest(
        `tools: "${says(taken)}" and "${says(meaning)}" both become the chat function "${chatName}"; rename one.`,
        "tools",
      );
    }
    table.byChatName.set(chatName, meaning);
    table.functions.push({ type: "function", function: { name: chatName, ...fn } });
  };
  const one = (tool: Fields, namespace?: string) => {
    const name = typeof tool.name === "string" ? tool.name : "";
    switch (tool.type) {
      case "function": {
        const fn: Fields = {
          parameters: isObject(tool.parameters)
            ? tool.parameters
            : { type: "object", properties: {} },
        };
        if (typeof tool.description === "string") fn.description = tool.description;
        if (typeof tool.strict === "boolean") fn.strict = tool.strict;
        add(chatNameOf(name, namespace), { kind: "function", name, namespace }, fn);
        return;
      }
      case "custom":
        add(
          chatNameOf(name, namespace),
          { kind: "custom", name, namespace },
          { description: customDescription(tool), parameters: CUSTOM_PARAMETERS },
        );
        return;
      case "namespace":
        for (const inner of Array.isArray(tool.tools) ? tool.tools.filter(isObject) : [])
          one(inner, name);
        return;
      case "tool_search":
        if (tool.execution === "client") {
          const fn: Fields = {
            parameters: isObject(tool.parameters) ? tool.parameters : TOOL_SEARCH_PARAMETERS,
          };
          fn.description =
            typeof tool.description === "string" ? tool.description : "Searches for more tools.";
          add("tool_search", { kind: "tool_search", name: "tool_search" }, fn);
          return;
        }
        break;
    }
    const type = typeof tool.type === "string" ? tool.type : "unknown";
    if (!table.omitted.includes(type)) table.omitted.push(type);
  };
  for (const tool of Array.isArray(tools) ? tools.filter(isObject) : []) one(tool);
  for (const tool of loaded.filter(isObject)) one(tool);
  return table;
}

/** The Responses tool a chat function name stands for (a plain function when not in the table). */
export function toolNamed(table: ToolTable | undefined, chatName: string): ToolName {
  return table?.byChatName.get(chatName) ?? { kind: "function", name: chatName };
}

/**
 * The hosted tools a request asked for that its chat channel cannot run (the face names them
 * in `x-sluice-tools-omitted`).
 */
export function omittedTools(body: Readonly<Fields>): string[] {
  return toolTableOf(body.tools).omitted;
}

/** The tools that client-run tool_search calls loaded into the conversation (its outputs). */
function loadedTools(input: unknown): unknown[] {
  if (!Array.isArray(input)) return [];
  return input
    .filter((item): item is Fields => isObject(item) && item.type === "tool_search_output")
    .flatMap((item) => (Array.isArray(item.tools) ? item.tools : []));
}

/** The tool table of a whole Responses request: its `tools` and those tool_search loaded. */
export function requestToolTable(body: Readonly<Fields>): ToolTable {
  return toolTableOf(body.tools, loadedTools(body.input));
}
