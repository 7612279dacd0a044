/**
 * The operator's Markdown (home, about, announcements, footer) as HTML, safe by construction:
 * markdown-it with `html: false` escapes any raw HTML, and its `validateLink` refuses
 * `javascript:`, `vbscript:`, `file:` and every `data:` that is not a PNG, JPEG, GIF or WebP
 * image. On top: images only from this site, `data:` images, or the origins the operator
 * listed (`branding.image_origins`, which the page's CSP `img-src` also allows); any other is
 * shown as its alt text. Links to other sites open apart, with no referrer and no `opener`.
 * Loaded lazily (its own chunk) by the pages that show Markdown; it touches no DOM.
 */
import MarkdownIt from "markdown-it";

export interface MarkdownOptions {
  /** This site's origin (`location.origin`): its links and images are its own. */
  origin: string;
  /** https origins images may come from besides this site. */
  imageOrigins: readonly string[];
}

const DATA_IMAGE = /^data:image\/(png|jpeg|gif|webp);/i;

/** Renders `text` to HTML that carries no script, handler or foreign image. */
export function renderMarkdown(text: string, options: MarkdownOptions): string {
  return renderer(options).render(text);
}

function renderer(options: MarkdownOptions) {
  const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
  const where = (url: string) => {
    try {
      return new URL(url, options.origin);
    } catch {
      return undefined;
    }
  };
  md.renderer.rules.image = (tokens, idx, opts, _env, self) => {
    const token = tokens[idx];
    if (!token) return "";
    const src = String(token.attrGet("src") ?? "");
    const url = where(src);
    const allowed =
      DATA_IMAGE.test(src) ||
      (url !== undefined &&
        (url.origin === options.origin || options.imageOrigins.includes(url.origin)));
    // The alt text, as markdown-it renders it, whatever happens to the image.
    const alt = self.renderInlineAsText(token.children ?? [], opts, _env);
    if (!allowed) return md.utils.escapeHtml(alt);
    token.attrSet("alt", alt);
    token.attrSet("loading", "lazy");
    token.attrSet("referrerpolicy", "no-referrer");
    return self.renderToken(tokens, idx, opts);
  };
  md.renderer.rules.link_open = (tokens, idx, opts, _env, self) => {
    const token = tokens[idx];
    const url = where(String(token?.attrGet("href") ?? ""));
    if (token && url && url.origin !== options.origin) {
      token.attrSet("target", "_blank");
      token.attrSet("rel", "noopener noreferrer nofollow");
    }
    return self.renderToken(tokens, idx, opts);
  };
  return md;
}
