// A button that calls the API, disables itself while the call runs, and shows the
// coordinator's answer when it refuses (e.g. a 409 saying why an agent cannot be drained).
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api/http.js';

export function ActionButton(props: {
  action: () => Promise<unknown>;
  onDone?: () => void;
  confirm?: string;
  kind?: 'danger' | 'primary';
  title?: string;
  children: ComponentChildren;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.action();
      props.onDone?.();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={props.kind ?? ''} disabled={busy} title={props.title} onClick={() => void click()}>
        {props.children}
      </button>
      {error && (
        <span class="action-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
