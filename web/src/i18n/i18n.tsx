import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { en, type MessageKey } from "./messages";
import type { Lang } from "../lib/dates";

const KEY = "jesh.lang";
type Dict = Partial<Record<MessageKey, string>>;

// English is in the main chunk, but for the console's sentences, which its chunk adds when it loads (addEnglish);
// Swahili is a chunk of its own, fetched only by those who read it.
const ENGLISH: Dict = { ...en };
const DICTS: Partial<Record<Lang, Dict>> = { en: ENGLISH };
const LOADERS: Record<Lang, () => Promise<Dict>> = {
  en: async () => ENGLISH,
  sw: async () => (await import("./sw")).sw,
};

/** English sentences of a lazily loaded part (the console's, consoleMessages.ts), added when its chunk loads. */
export function addEnglish(sentences: Dict): void {
  Object.assign(ENGLISH, sentences);
}
const loading: Partial<Record<Lang, Promise<void>>> = {};

/** Fetch a language's sentences once (a failed fetch is tried again on the next call). */
export function loadLang(lang: Lang): Promise<void> {
  if (DICTS[lang]) return Promise.resolve();
  const pending = loading[lang] ?? LOADERS[lang]().then(
    (dict) => { DICTS[lang] = dict; },
    (err: unknown) => { delete loading[lang]; throw err; },
  );
  loading[lang] = pending;
  return pending;
}

export function isLoaded(lang: Lang): boolean {
  return DICTS[lang] !== undefined;
}

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

/** A sentence in `lang`, in English while that language is not loaded (loadLang). */
export function translate(lang: Lang, key: MessageKey, vars?: Record<string, string | number>): string {
  const template: string | undefined = DICTS[lang]?.[key] ?? ENGLISH[key];
  return template === undefined ? key : format(template, vars);
}

interface I18n {
  lang: Lang;
  setLang: (lang: Lang) => void;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
}

const Ctx = createContext<I18n | null>(null);

/** The chosen language. A page in a language not loaded yet waits for it (a blank moment, not English first); if
 *  it cannot be fetched, the page shows in English. Switching fetches first, then switches. */
export function I18nProvider({ children }: { children: ReactNode }) {
  const [wanted] = useState<Lang>(storedLang);
  const [lang, setLangState] = useState<Lang | null>(() => (isLoaded(wanted) ? wanted : null));
  useEffect(() => {
    if (lang !== null) return;
    let live = true;
    loadLang(wanted).then(() => live && setLangState(wanted), () => live && setLangState("en"));
    return () => { live = false; };
  }, [lang, wanted]);
  useEffect(() => {
    if (lang) document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((next: Lang) => {
    try {
      localStorage.setItem(KEY, next);
    } catch {
      /* not remembered, still switched */
    }
    loadLang(next).then(() => setLangState(next), () => { /* cannot be fetched now: stays as it is */ });
  }, []);
  const value = useMemo<I18n | null>(
    () => (lang ? { lang, setLang, t: (k, v) => translate(lang, k, v) } : null), [lang, setLang]);
  return value ? <Ctx.Provider value={value}>{children}</Ctx.Provider> : null;
}

export function useI18n(): I18n {
  const ctx = useContext(Ctx);
  if (!ctx) throw new Error("useI18n outside I18nProvider");
  return ctx;
}
