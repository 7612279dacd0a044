import { useEffect, useRef } from "preact/hooks";
import { locale } from "../i18n";

/**
 * Cloudflare Turnstile's widget, rendered explicitly where the register page asks for it. Its
 * script is loaded only then (the console's Content-Security-Policy allows Cloudflare's origin
 * for scripts and frames only while the site has the check on). The token it hands over is
 * good for one verification: after a failed registration the page resets the widget.
 */
interface TurnstileApi {
  render(container: HTMLElement, options: Record<string, unknown>): string;
  reset(widgetId: string): void;
  remove(widgetId: string): void;
}

declare global {
  interface Window {
    turnstile?: TurnstileApi;
  }
}

const SCRIPT = "https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit";

/** The widget's action: the server refuses a token solved for anything else. */
const ACTION = "register";

let loading: Promise<TurnstileApi> | undefined;

function loadTurnstile(): Promise<TurnstileApi> {
  loading ??= new Promise<TurnstileApi>((resolve, reject) => {
    const script = document.createElement("script");
    script.src = SCRIPT;
    script.async = true;
    script.onload = () =>
      window.turnstile ? resolve(window.turnstile) : reject(new Error("Turnstile did not load"));
    script.onerror = () => {
      loading = undefined; // the next page visit tries again
      script.remove();
      reject(new Error("Turnstile could not be loaded"));
    };
    document.head.appendChild(script);
  });
  return loading;
}

export function TurnstileWidget(props: {
  siteKey: string;
  /** The token, or null once it expired or the check failed. */
  onToken(token: string | null): void;
  /** Changed by the page after a failed registration: the spent token is replaced. */
  resets: number;
  onError(message: string): void;
  /** The form's action (the server checks it): `register` unless said (stream E: `checkin`). */
  action?: string;
}) {
  const container = useRef<HTMLDivElement>(null);
  const widget = useRef<{ api: TurnstileApi; id: string } | null>(null);
  const { siteKey } = props;
  const callbacks = useRef(props);
  callbacks.current = props;

  useEffect(() => {
    let live = true;
    loadTurnstile().then(
      (api) => {
        if (!live || !container.current) return;
        const id = api.render(container.current, {
          sitekey: siteKey,
          action: props.action ?? ACTION,
          language: locale() === "zh-CN" ? "zh-CN" : "en",
          callback: (token: string) => callbacks.current.onToken(token),
          "expired-callback": () => callbacks.current.onToken(null),
          "error-callback": () => callbacks.current.onToken(null),
        });
        widget.current = { api, id };
      },
      (err: Error) => live && callbacks.current.onError(err.message),
    );
    return () => {
      live = false;
      if (widget.current) widget.current.api.remove(widget.current.id);
      widget.current = null;
    };
  }, [siteKey]);

  useEffect(() => {
    if (props.resets === 0 || !widget.current) return;
    props.onToken(null);
    widget.current.api.reset(widget.current.id);
  }, [props.resets]);

  return <div ref={container} class="turnstile" data-testid="turnstile" />;
}
