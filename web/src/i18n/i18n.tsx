import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { en, sw, type MessageKey } from "./messages";
import type { Lang } from "../lib/dates";

const KEY = "jesh.lang";
const DICTS: Record<Lang, Record<MessageKey, string>> = { en, sw };

export function storedLang(): Lang {
  try {
    const v = localStorage.getItem(KEY);
    if (v === "en" || v === "sw") return v;
  } catch {
    /* storage unavailable: default */
  }
  return typeof navigator !== "undefined" && navigator.language?.toLowerCase().startsWith("sw") ? "sw" : "en";
}

/** Fill {name} placeholders. */
export function format(template: string, vars?: Record<string, string | number>): string {
  if (!vars) return template;
  return template.replace(/\{(\w+)\}/g, (_, k: string) => (k in vars ? String(vars[k]) : `{${k}}`));
}

export function translate(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  const template: string | undefined = DICTS[lang][key] ?? en[key];
  return template === undefined ? key : format(template, vars);
}

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
}

const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(storedLang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((next: Lang) => {
    try {
      localStorage.setItem(KEY, next);
    } catch {
      /* not remembered, still switched */
    }
    setLangState(next);
  }, []);
  const value = useMemo<I18n>(() => ({ lang, setLang, t: (k, v) => translate(lang, k, v) }), [lang, setLang]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useI18n outside I18nProvider");
  return ctx;
}
