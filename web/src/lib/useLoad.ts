import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";
import type { ApiError } from "../api/client";

/** Load something once its inputs change; `reload` asks again (the latest call wins), `refresh` asks quietly. */
export function useLoad<T>(load: () => Promise<{ data?: T; error?: ApiError }>, deps: DependencyList) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const result = await run();
      if (mine !== seq.current) return;
      setError(result.error ?? null);
      if (result.data !== undefined) setData(result.data);
    } catch {
      if (mine === seq.current) setError({ message: "", status: 0 });
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, [run]);
  /** Read again quietly (the figures moved elsewhere): a fresh answer replaces what is shown, unless a reload or
   *  a change of inputs came meanwhile; a failure changes nothing shown. No spinner, no error. */
  const refresh = useCallback(async () => {
    const since = seq.current;
    try {
      const result = await run();
      if (since === seq.current && result.data !== undefined) {
        setData(result.data);
        setError(null);
      }
    } catch {
      // kept as it was
    }
  }, [run]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload, refresh, setData, setError };
}
