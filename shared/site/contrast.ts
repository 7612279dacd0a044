/**
 * WCAG 2.x contrast: the operator's colour is the background of white text (buttons, the top
 * bar), so it must reach 4.5:1 against white (success criterion 1.4.3, normal text).
 */
export const MIN_CONTRAST = 4.5;

/** `#rrggbb`'s contrast ratio against white, from 1 (white) to 21 (black). */
export function contrastWithWhite(hex: string): number {
  const channel = (i: number) => {
    const c = Number.parseInt(hex.slice(1 + 2 * i, 3 + 2 * i), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(1) + 0.0722 * channel(2);
  return 1.05 / (luminance + 0.05);
}
