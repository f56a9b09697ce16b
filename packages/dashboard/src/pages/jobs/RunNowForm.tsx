// Trigger a run of a job with its parameters (the job's defaults filled in), an optional
// priority and delay; on success, go to the new run.
import { useState } from 'preact/hooks';
import { post } from '../../api/http.js';
import { refusal, useWhoami } from '../../api/whoami.js';
import type { Body, Job, Operation } from '../../api/types.js';
import { FieldErrors } from '../../components/FieldErrors.js';
import { navigate } from '../../lib/router.js';

export function RunNowForm(props: { job: Job; onClose?: () => void }) {
  const defaults = props.job.parameters ?? {};
  const [rows, setRows] = useState<Array<{ name: string; value: string }>>(
    Object.entries(defaults).map(([name, value]) => ({ name, value })),
  );
  const [priority, setPriority] = useState('');
  const [delay, setDelay] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const cannotRun = refusal(useWhoami(), 'trigger');

  const set = (i: number, field: 'name' | 'value', v: string) =>
    setRows((r) => r.map((row, k) => (k === i ? { ...row, [field]: v } : row)));
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const parameters = Object.fromEntries(rows.filter((r) => r.name.trim() !== '').map((r) => [r.name.trim(), r.value]));
      const body: Body<Operation<'/v1/jobs/{id}/runs', 'post'>> = { parameters };
      if (priority.trim() !== '') body.priority = Number(priority);
      if (delay.trim() !== '') body.delay = delay.trim();
      const run = await post('/v1/jobs/{id}/runs', { path: { id: props.job.id }, body });
      navigate(`/runs/${run.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="panel run-now" onSubmit={(e) => void submit(e)}>
      <h3>Run {props.job.name} now</h3>
      <div class="param-grid">
        {rows.map((r, i) => (
          <div class="param-row" key={i}>
            <input
              aria-label="parameter name"
              placeholder="name"
              class="mono"
              value={r.name}
              onInput={(e) => set(i, 'name', e.currentTarget.value)}
            />
            <input
              aria-label={`value of ${r.name || 'parameter'}`}
              placeholder={defaults[r.name] !== undefined ? `default: ${defaults[r.name]}` : 'value'}
              value={r.value}
              onInput={(e) => set(i, 'value', e.currentTarget.value)}
            />
            <button type="button" class="link" title="remove" onClick={() => setRows((rs) => rs.filter((_, k) => k !== i))}>
              ✕
            </button>
          </div>
        ))}
        <button type="button" class="link" onClick={() => setRows((rs) => [...rs, { name: '', value: '' }])}>
          + parameter
        </button>
      </div>
      <div class="row-inline">
        <label>
          Priority
          <input type="number" min={0} max={100} placeholder="job's" value={priority} onInput={(e) => setPriority(e.currentTarget.value)} />
        </label>
        <label>
          Delay
          <input placeholder="e.g. 10m" value={delay} onInput={(e) => setDelay(e.currentTarget.value)} />
        </label>
      </div>
      <FieldErrors error={error} />
      <div class="row-inline">
        <button type="submit" class="primary" disabled={busy || cannotRun !== undefined} title={cannotRun}>
          Run now
        </button>
        {props.onClose && (
          <button type="button" onClick={props.onClose}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
