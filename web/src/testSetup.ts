// Every vitest file starts with both languages loaded, as a reader who chose Swahili has it once its chunk came.
import { loadLang } from "./i18n/i18n";

await loadLang("sw");
