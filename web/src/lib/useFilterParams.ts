import { useSearchParams } from "react-router-dom";

/** A page's filters, kept in its URL: the current params and `set(key, value)` (an empty value removes the key).
 *  Each change is made to the URL as it is when the change is applied, not as it was at the last render, so two
 *  quick changes (a status, then a checkbox) both stay. The URL updates in a React transition: a control bound to
 *  it shows its new state when that transition commits. */
export function useFilterParams(): [URLSearchParams, (key: string, value: string) => void] {
  const [params, setParams] = useSearchParams();
  const set = (key: string, value: string) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      if (value) next.set(key, value);
      else next.delete(key);
      return next;
    });
  return [params, set];
}
