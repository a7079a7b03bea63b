// Every English sentence, the portal's and the console's: for the tests that read them all. The app never imports
// this (it would put the console's sentences back in the main chunk): it uses i18n.translate.
import { enConsole } from "./consoleMessages";
import { en } from "./messages";

export const everyEnglish = { ...en, ...enConsole };
