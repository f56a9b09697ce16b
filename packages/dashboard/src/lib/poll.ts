// Live data by polling: each view reloads every 2 s while the tab is visible, never with two
// requests of the same view in flight, and at once when the tab comes back.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export const POLL_MS = 2000;

export interface Polled<T> {
  data: T | undefined;
  error: Error | undefined;
  /** Reload now (after an action), without waiting for the next tick. */
  refresh: () => void;
}

/** Calls load now, then every intervalMs; a change of deps starts over with no data. */
export function usePoll<T>(load: () => Promise<T>, deps: readonly unknown[], intervalMs = POLL_MS): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const loadRef = useRef(load);
  loadRef.current = load;
  const tick = useRef<() => void>(() => {});

  useEffect(() => {
    let alive = true;
    let inFlight = false;
    let again = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setData(undefined);
    setError(undefined);
    const run = async () => {
      if (!alive) return;
      if (inFlight) {
        again = true;
        return;
      }
      clearTimeout(timer);
      inFlight = true;
      try {
        const value = await loadRef.current();
        if (alive) {
          setData(value);
          setError(undefined);
        }
      } catch (err) {
        if (alive) setError(err as Error);
      } finally {
        inFlight = false;
      }
      if (!alive) return;
      if (again) {
        again = false;
        void run();
      } else if (!document.hidden) timer = setTimeout(() => void run(), intervalMs);
    };
    tick.current = () => void run();
    const onVisible = () => {
      if (!document.hidden) void run();
    };
    document.addEventListener('visibilitychange', onVisible);
    void run();
    return () => {
      alive = false;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
    // deps are the caller's: a new filter means new data.
  }, deps);

  const refresh = useCallback(() => tick.current(), []);
  return { data, error, refresh };
}
