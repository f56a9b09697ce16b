// A button that calls the API, disables itself while the call runs, and shows the
// coordinator's answer when it refuses (e.g. a 409 saying why an agent cannot be drained, or a
// 403: the signed-in token's role may not do this) beside the button, not as a crash.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { describeError, isForbidden } from '../api/http.js';
import { refusal, useWhoami, type Needs } from '../api/whoami.js';

export function ActionButton(props: {
  action: () => Promise<unknown>;
  onDone?: () => void;
  confirm?: string;
  kind?: 'danger' | 'primary';
  title?: string;
  /** The access the call needs: when the signed-in role lacks it the button is disabled, saying why. */
  needs?: Needs;
  children: ComponentChildren;
}) {
  const refused = refusal(useWhoami(), props.needs);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ text: string; detail?: string } | undefined>(undefined);
  const click = async () => {
    if (props.confirm && !window.confirm(props.confirm)) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.action();
      props.onDone?.();
    } catch (err) {
      // A 403's detail (which role would do) goes to the tooltip: the cell beside a button is narrow.
      setError({ text: describeError(err), ...(isForbidden(err) ? { detail: err.message } : {}) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button
        type="button"
        class={props.kind ?? ''}
        disabled={busy || refused !== undefined}
        title={refused ?? props.title}
        onClick={() => void click()}
      >
        {props.children}
      </button>
      {error && (
        <span class="action-error" role="alert" title={error.detail}>
          {error.text}
        </span>
      )}
    </span>
  );
}
