import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";
import type { ApiError } from "../api/client";

/** Load something once its inputs change; `reload` asks again. The latest call wins. */
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
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload, setData, setError };
}
