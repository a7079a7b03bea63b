import { useSearchParams } from "react-router-dom";

/** A page's filters, kept in its URL: the current params and `set(key, value)` (an empty value removes the key), or
 *  `set({ key: value, … })` for several at once (one history entry: a new search that also goes back to page one).
 *  A change is made to the URL as it is at that moment (`window.location`, which the router updates at once), not
 *  to the params of the last render (the router re-renders in a React transition, later): two quick changes, a
 *  status and then a checkbox, both stay. A control bound to the URL shows its new state when that transition
 *  commits. */
export function useFilterParams(): [URLSearchParams, (key: string | Record<string, string>, value?: string) => void] {
  const [params, setParams] = useSearchParams();
  const set = (key: string | Record<string, string>, value = "") => {
    const next = new URLSearchParams(window.location.search);
    for (const [k, v] of Object.entries(typeof key === "string" ? { [key]: value } : key)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    setParams(next);
  };
  return [params, set];
}
