import { useSearchParams } from "react-router-dom";

/** A page's filters, kept in its URL: the current params and `set(key, value)` (an empty value removes the key).
 *  A change is made to the URL as it is at that moment (`window.location`, which the router updates at once), not
 *  to the params of the last render (the router re-renders in a React transition, later): two quick changes, a
 *  status and then a checkbox, both stay. A control bound to the URL shows its new state when that transition
 *  commits. */
export function useFilterParams(): [URLSearchParams, (key: string, value: string) => void] {
  const [params, setParams] = useSearchParams();
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(window.location.search);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next);
  };
  return [params, set];
}
