/**
 * The console's Markdown (console/src/markdown.ts) against the OWASP XSS filter-evasion cheat
 * sheet's kinds of attack and the link schemes that run script: whatever the operator (or
 * someone who took the admin's session) writes, no script, event handler, `javascript:`,
 * `vbscript:` or non-image `data:` URL reaches the page, and images come only from this site,
 * `data:` images or the listed origins.
 */
import { describe, expect, it } from "vitest";
import { renderMarkdown } from "../../console/src/markdown";

const options = { origin: "https://relay.example", imageOrigins: ["https://images.example.com"] };
const render = (text: string) => renderMarkdown(text, options);

/** What must never be in the output: a tag or attribute that runs script, or a script URL. */
function assertInert(html: string, input: string): void {
  expect(html, input).not.toMatch(/<script/i);
  expect(html, input).not.toMatch(/<(iframe|object|embed|svg|math|style|link|meta|base|form)\b/i);
  // A handler is an attribute of a tag; inside a quoted value (escaped) it is only text.
  for (const tag of html.match(/<[a-z][^>]*>/gi) ?? [])
    expect(tag.replace(/"[^"]*"/g, '""'), input).not.toMatch(/\son[a-z]+\s*=/i);
  expect(html, input).not.toMatch(/(href|src)\s*=\s*"\s*(javascript|vbscript|file):/i);
  expect(html, input).not.toMatch(/(href|src)\s*=\s*"\s*data:(?!image\/(png|jpeg|gif|webp);)/i);
}

const CORPUS = [
  "<script>alert(1)</script>",
  "<SCRIPT SRC=https://evil.example/xss.js></SCRIPT>",
  "<IMG SRC=\"javascript:alert('XSS');\">",
  "<IMG SRC=javascript:alert('XSS')>",
  '<img src=x onerror="alert(1)">',
  "<img src=x onerror=alert(1)//",
  "<svg/onload=alert(1)>",
  '<a href="javascript:alert(1)">x</a>',
  "<iframe src=javascript:alert(1)></iframe>",
  '<BODY ONLOAD=alert("XSS")>',
  "<style>@import 'https://evil.example/x.css';</style>",
  '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(1);">',
  "[x](javascript:alert(1))",
  "[x](JaVaScRiPt:alert(1))",
  "[x]( javascript:alert(1))",
  "[x](java\tscript:alert(1))",
  "[x](&#106;avascript:alert(1))",
  "[x](&#x6A;&#x61;&#x76;&#x61;script:alert(1))",
  "[x](javascript&colon;alert(1))",
  "[x](vbscript:msgbox(1))",
  "[x](file:///etc/passwd)",
  "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
  "[x](data:text/html,<script>alert(1)</script>)",
  "![x](javascript:alert(1))",
  "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
  '![x" onerror="alert(1)](https://images.example.com/a.png)',
  '![x](https://images.example.com/a.png "t\\" onerror=\\"alert(1)")',
  "[x][ref]\n\n[ref]: javascript:alert(1)",
  "<javascript:alert(1)>",
  "<a href='x' onmouseover='alert(1)'>hover</a>",
  "`<script>alert(1)</script>`",
  "```html\n<script>alert(1)</script>\n```",
  '"><script>alert(1)</script>',
  "<<SCRIPT>alert(1);//<</SCRIPT>",
  "<scr<script>ipt>alert(1)</scr</script>ipt>",
];

describe("the console's Markdown", () => {
  it("lets no script, handler or script URL through the OWASP-style corpus", () => {
    for (const input of CORPUS) assertInert(render(input), input);
    // Raw HTML is shown as text, not dropped silently: the operator sees what they wrote.
    expect(render("<b>bold</b>")).toContain("&lt;b&gt;bold&lt;/b&gt;");
  });

  it("keeps ordinary Markdown: headings, emphasis, lists, code, tables of links", () => {
    const html = render("# Welcome\n\n*Fast* and **cheap**.\n\n- one\n- two\n\n`code`");
    expect(html).toContain("<h1>Welcome</h1>");
    expect(html).toContain("<em>Fast</em>");
    expect(html).toContain("<strong>cheap</strong>");
    expect(html).toContain("<li>one</li>");
    expect(html).toContain("<code>code</code>");
  });

  it("opens other sites' links apart, with no referrer or opener, and its own in place", () => {
    const external = render("[docs](https://docs.example.org/x)");
    expect(external).toContain('href="https://docs.example.org/x"');
    expect(external).toContain('target="_blank"');
    expect(external).toContain('rel="noopener noreferrer nofollow"');
    const own = render("[models](/#/models)");
    expect(own).toContain('href="/#/models"');
    expect(own).not.toContain("target=");
    expect(render("[mail](mailto:ops@relay.example)")).toContain('href="mailto:ops@relay.example"');
  });

  it("shows images from this site, data: images and listed origins only; others as alt text", () => {
    expect(render("![logo](/api/site/logo)")).toContain('src="/api/site/logo"');
    expect(render("![a](https://images.example.com/a.png)")).toContain(
      'src="https://images.example.com/a.png"',
    );
    expect(render("![px](data:image/png;base64,iVBORw0KGgo=)")).toContain(
      'src="data:image/png;base64,iVBORw0KGgo="',
    );
    for (const src of [
      "https://tracker.example.net/pixel.gif",
      "//tracker.example.net/p.gif",
      "http://images.example.com/a.png",
      "https://images.example.com.evil.example/a.png",
    ]) {
      const html = render(`![seen](${src})`);
      expect(html, src).not.toContain("<img");
      expect(html, src).toContain("seen");
    }
  });
});
