import { useI18n } from "../i18n/i18n";
import type { MessageKey } from "../i18n/messages";
import { stageTone } from "../lib/billing";

/** A rental's delinquency stage (current, late, locked out, lien) as a coloured badge. */
export function StageBadge({ stage }: { stage: string }) {
  const { t } = useI18n();
  const key = `stage.${stage}` as MessageKey;
  return <span className={`badge badge-${stageTone(stage)}`}>{t(key) === key ? stage : t(key)}</span>;
}
