// The view shown instead of the pages when the API answers 401: paste a token, which is tried
// against the API before it is kept.
import { useState } from 'preact/hooks';
import { signedIn, type SignIn as Why } from '../api/auth.js';

/** Any answer but 401 means the coordinator knows the token (a 403 only limits what it may do). */
async function tryToken(token: string): Promise<string | undefined> {
  let res: Response;
  try {
    res = await fetch('/v1/alerts', { headers: { accept: 'application/json', authorization: `Bearer ${token}` } });
  } catch (err) {
    return `The coordinator did not answer (${(err as Error).message}).`;
  }
  if (res.status !== 401) return undefined;
  const body = (await res.json().catch(() => undefined)) as { detail?: unknown } | undefined;
  return `The coordinator refused this token${typeof body?.detail === 'string' ? `: ${body.detail}` : '.'}`;
}

export function SignIn(props: { why: Why }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const token = value.trim();
    if (!token) return setError('Paste a token first.');
    setBusy(true);
    const refused = await tryToken(token);
    setBusy(false);
    if (refused) setError(refused);
    else signedIn(token);
  };
  return (
    <section class="sign-in">
      <form class="panel" onSubmit={(e) => void submit(e)}>
        <h1>Sign in</h1>
        {props.why.reason && (
          <p class="muted" data-sign-in-reason>
            {props.why.reason}
          </p>
        )}
        <p>
          This coordinator needs an API token. Ask an admin for one, or create one with{' '}
          <code>drover tokens create --role viewer --namespace default</code> (<code>operator</code> to also run, cancel and drain; a
          namespace per team).
        </p>
        <label>
          Token
          <input
            name="token"
            type="password"
            autocomplete="off"
            spellcheck={false}
            class="mono"
            value={value}
            onInput={(e) => setValue(e.currentTarget.value)}
          />
        </label>
        {error && (
          <div class="field-errors" role="alert">
            {error}
          </div>
        )}
        <div class="row-inline">
          <button type="submit" class="primary" disabled={busy}>
            Sign in
          </button>
          <span class="muted small">Kept for this tab only; closing it signs out.</span>
        </div>
      </form>
    </section>
  );
}
