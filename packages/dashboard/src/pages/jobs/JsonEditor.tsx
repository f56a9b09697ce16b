// A job's definition as JSON: edit, save (as a merge patch of what changed), and see every
// validation error the coordinator names, field by field, under the text.
import { useEffect, useState } from 'preact/hooks';
import { patch } from '../../api/http.js';
import { refusal, useWhoami } from '../../api/whoami.js';
import type { Body, Job, Operation } from '../../api/types.js';
import { FieldErrors } from '../../components/FieldErrors.js';
import { jobDefinitionOf, mergePatch } from '@drover/client/merge-patch';

/** Where JSON.parse stopped, as "line L, column C", from its message's position. */
function parseErrorAt(text: string, err: Error): string {
  const m = /position (\d+)/.exec(err.message);
  if (!m) return err.message;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${err.message.replace(/ in JSON at position \d+.*$/, '')} (line ${line}, column ${column})`;
}

export function JsonEditor(props: { job: Job; onSaved: (job: Job) => void }) {
  const original = jobDefinitionOf(props.job);
  const loaded = JSON.stringify(original, null, 2);
  const [text, setText] = useState(loaded);
  // The text the editor last took from the server: a newer version replaces it unless edited.
  const [baseline, setBaseline] = useState(loaded);
  useEffect(() => {
    if (loaded === baseline) return;
    if (text === baseline) setText(loaded);
    setBaseline(loaded);
  }, [loaded]);
  const [error, setError] = useState<unknown>(undefined);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  const cannotSave = refusal(useWhoami(), 'operate');

  const save = async () => {
    setSaved(false);
    let edited: unknown;
    try {
      edited = JSON.parse(text);
    } catch (err) {
      setError(new Error(`Not valid JSON: ${parseErrorAt(text, err as Error)}`));
      return;
    }
    if (typeof edited !== 'object' || edited === null || Array.isArray(edited)) {
      setError(new Error('The definition must be a JSON object.'));
      return;
    }
    const diff = mergePatch(original, edited as Record<string, unknown>);
    if (Object.keys(diff).length === 0) {
      setError(new Error('Nothing changed.'));
      return;
    }
    setBusy(true);
    try {
      // The diff is checked by the coordinator, which names each field it refuses.
      const job = await patch('/v1/jobs/{id}', { path: { id: props.job.id }, body: diff as Body<Operation<'/v1/jobs/{id}', 'patch'>> });
      setError(undefined);
      setSaved(true);
      const now = JSON.stringify(jobDefinitionOf(job), null, 2);
      setText(now);
      setBaseline(now);
      props.onSaved(job);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="panel">
      <h2>Definition</h2>
      <textarea
        class="json mono"
        spellcheck={false}
        aria-label="job definition as JSON"
        rows={Math.min(40, Math.max(12, text.split('\n').length + 1))}
        value={text}
        onInput={(e) => {
          setText(e.currentTarget.value);
          setSaved(false);
        }}
      />
      <FieldErrors error={error} />
      <div class="row-inline">
        <button type="button" class="primary" disabled={busy || cannotSave !== undefined} title={cannotSave} onClick={() => void save()}>
          Save
        </button>
        <button
          type="button"
          onClick={() => {
            setText(loaded);
            setError(undefined);
          }}
        >
          Revert
        </button>
        {saved && <span class="ok">Saved.</span>}
      </div>
    </div>
  );
}
