import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { render } from "preact";
import { App } from "./app";
import { onLangChange, pickLang, setLang } from "./i18n";

const STORAGE_KEY = "sluice.lang";

function stored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

onLangChange((lang, chosen) => {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  if (!chosen) return;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Storage refused: the choice lasts for this page only.
  }
});
setLang(pickLang(stored(), navigator.languages ?? [navigator.language]), false);

const root = document.getElementById("app");
if (root) render(<App />, root);
