import { InvalidRequest } from "../../errors";

/**
 * A chat message's content as parts, for the bridges that read chat requests: a string is one
 * text part, null none; anything else is a 400 naming `<where>.content`.
 */
export function partsOf(content: unknown, where: string): unknown[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  if (content === null || content === undefined) return [];
  if (!Array.isArray(content)) {
    throw new InvalidRequest(
      `${where}.content: a string or an array is required.`,
      `${where}.content`,
      "invalid_type",
    );
  }
  return content;
}
