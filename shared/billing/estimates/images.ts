/**
 * Image tokens as OpenAI's vision guide counts them ("Images and vision", calculating costs;
 * research/prices/usage-shapes.md §8), for an estimate: what one image of a known size costs a
 * model, and what gpt-image models' outputs cost. The formulas per model are prompt-bound.ts's
 * (imageFormulaFor), which holds at each formula's largest image; here the image's own size
 * is counted.
 */
import { dataUrlBytes, type ImageSize, imageSize } from "../../media/image-size";
import type { ImageTokenFormula } from "../prompt-bound";

/**
 * An image sluice cannot see (a URL, a file id) is estimated as a large 4:3 photo: 2048×1536,
 * what a phone picture is once fitted into the 2048-px square. (The hold takes the largest
 * image any formula bills.)
 */
export const UNSEEN_IMAGE: ImageSize = { width: 2048, height: 1536 };

/** The guide's patch budget, where a formula names none. */
const PATCH_BUDGET = 1_536;

/** The size of an image part's `url` when it is a data: URL with a readable header. */
export function imageSizeOfUrl(url: unknown): ImageSize | undefined {
  const bytes = typeof url === "string" ? dataUrlBytes(url) : undefined;
  return bytes ? imageSize(bytes) : undefined;
}

/**
 * Tokens of one `width`×`height` image under `formula`:
 * - tiles: `detail: "low"` is the base alone; otherwise the image is fitted into 2048×2048,
 *   then shrunk (never enlarged) so its shortest side is 768, and costs base + per tile × its
 *   512-px tiles;
 * - patches: 32-px patches; past the budget the image is shrunk to fit it (the guide's steps)
 *   and the count capped at the budget; times the model's multiplier, rounded up.
 */
export function imageTokens(
  formula: ImageTokenFormula,
  { width, height }: ImageSize,
  detail?: unknown,
): number {
  if (formula.kind === "tiles") {
    if (detail === "low") return formula.base;
    let w = width;
    let h = height;
    if (Math.max(w, h) > 2048) {
      const fit = 2048 / Math.max(w, h);
      w *= fit;
      h *= fit;
    }
    if (Math.min(w, h) > 768) {
      const shrink = 768 / Math.min(w, h);
      w *= shrink;
      h *= shrink;
    }
    const tiles = Math.ceil(Math.round(w) / 512) * Math.ceil(Math.round(h) / 512);
    return formula.base + tiles * formula.perTile;
  }
  const patches = patchesOf(width, height, formula.budget ?? PATCH_BUDGET);
  // Rounded to a millionth first: 1,452 × 1.62 is 2,352.24, not 2,352.2400…01.
  return Math.ceil(Math.round(patches * formula.multiplier * 1e6) / 1e6);
}

/** 32-px patches of an image, shrunk to fit `budget` as the guide describes. */
function patchesOf(width: number, height: number, budget: number): number {
  const count = (w: number, h: number) => Math.ceil(w / 32) * Math.ceil(h / 32);
  if (count(width, height) <= budget) return count(width, height);
  const shrink = Math.sqrt((32 * 32 * budget) / (width * height));
  const across = (width * shrink) / 32;
  const down = (height * shrink) / 32;
  const fitted = shrink * Math.min(Math.floor(across) / across, Math.floor(down) / down);
  const w = Math.max(1, Math.floor(width * fitted));
  const h = Math.max(1, Math.floor(height * fitted));
  return Math.min(count(w, h), budget);
}

/**
 * gpt-image-1's image output tokens per image by quality and size, from OpenAI's image
 * generation guide ("Cost and latency"). `quality: "auto"` (the default) is priced as high,
 * the best it may pick.
 */
const GPT_IMAGE_OUTPUT: Record<string, Record<string, number>> = {
  low: { "1024x1024": 272, "1024x1536": 408, "1536x1024": 400 },
  medium: { "1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568 },
  high: { "1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208 },
};

/**
 * Output tokens of one gpt-image image of `quality` and `size`: the guide's table; `auto` (or
 * no value) is the dearest the model may choose (high; the largest listed size); a quality the
 * table does not list counts as high, and a size it does not list as high's 1024² count scaled
 * by the area, rounded up. An upper bound for the hold when `auto`; an estimate otherwise.
 */
export function gptImageOutputTokens(
  quality: string | undefined,
  size: string | undefined,
): number {
  const byQuality =
    quality && quality !== "auto" && GPT_IMAGE_OUTPUT[quality]
      ? GPT_IMAGE_OUTPUT[quality]
      : (GPT_IMAGE_OUTPUT.high as Record<string, number>);
  if (!size || size === "auto") return Math.max(...Object.values(byQuality));
  const listed = byQuality[size];
  if (listed !== undefined) return listed;
  const [w, h] = size.split("x").map(Number);
  const area = (w ?? 0) * (h ?? 0);
  const square = byQuality["1024x1024"] as number;
  return Number.isFinite(area) && area > 0
    ? Math.ceil((square * area) / (1024 * 1024))
    : Math.max(...Object.values(byQuality));
}
