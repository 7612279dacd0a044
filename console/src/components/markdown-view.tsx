import { useEffect, useState } from "preact/hooks";
import { siteStatus } from "../site-status";

type Render = typeof import("../markdown").renderMarkdown;

// The Markdown chunk, loaded once by the first view that shows Markdown (home, about,
// announcements, footer); pages without Markdown never fetch it.
let loading: Promise<Render> | undefined;
function renderer(): Promise<Render> {
  loading ??= import("../markdown").then((m) => m.renderMarkdown);
  return loading;
}

/**
 * The operator's Markdown as HTML. The HTML is markdown-it's own output (markdown.ts: no raw
 * HTML, no script links, images only from allowed origins), the only thing ever put through
 * `dangerouslySetInnerHTML`.
 */
export function MarkdownView(props: { text: string; class?: string; testId?: string }) {
  const status = siteStatus.use();
  const [render, setRender] = useState<Render | null>(null);
  useEffect(() => {
    let live = true;
    renderer().then((r) => live && setRender(() => r));
    return () => {
      live = false;
    };
  }, []);
  if (!render) return <div class={props.class} data-testid={props.testId} />;
  const html = render(props.text, {
    origin: location.origin,
    imageOrigins: status?.image_origins ?? [],
  });
  return (
    <div
      class={`markdown ${props.class ?? ""}`}
      data-testid={props.testId}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
