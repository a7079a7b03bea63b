import { Component, Suspense, type ReactNode } from "react";
import { useI18n } from "../i18n/i18n";
import { Alert, Spinner } from "./ui";

function Loading() {
  const { t } = useI18n();
  return <Spinner label={t("common.loading")} />;
}

function LoadFailed() {
  const { t } = useI18n();
  return (
    <Alert kind="error">
      <p>{t("common.loadFailed")}</p>
      <p><button type="button" className="btn btn-secondary" onClick={() => window.location.reload()}>{t("common.reload")}</button></p>
    </Alert>
  );
}

/** A lazily loaded chunk that cannot be fetched (offline, or a new deployment replaced its hashed file) shows an
 *  error with a reload instead of a blank page. */
class ChunkBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  state = { failed: false };
  static getDerivedStateFromError() {
    return { failed: true };
  }
  render() {
    return this.state.failed ? <LoadFailed /> : this.props.children;
  }
}

/** Where a `React.lazy` component is shown: "Loading…" while its chunk comes, an error with a reload if it cannot. */
export function LazyChunk({ children }: { children: ReactNode }) {
  return (
    <ChunkBoundary>
      <Suspense fallback={<Loading />}>{children}</Suspense>
    </ChunkBoundary>
  );
}
