// A new job from its definition, written as YAML or JSON (JSON is YAML too), posted to
// POST /v1/jobs. The coordinator checks it and names each field it refuses, shown under the text.
import { useState } from 'preact/hooks';
import { parse } from 'yaml';
import { post } from '../../api/http.js';
import { refusal, useWhoami } from '../../api/whoami.js';
import type { Body, Operation } from '../../api/types.js';
import { FieldErrors } from '../../components/FieldErrors.js';
import { Link } from '../../components/Link.js';
import { navigate } from '../../lib/router.js';

const TEMPLATE = `# A job definition, as "drover jobs apply -f job.yaml" takes it (YAML or JSON).
name: hello
description: Says hello.
executor:
  type: exec
  command: [sh, -c, 'echo "hello $DROVER_PARAM_WHO"']
parameters:
  who: world
# schedule:
#   cron: '30 2 * * *'
#   timezone: Europe/Rome
`;

export function NewJobPage() {
  const [text, setText] = useState(TEMPLATE);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const cannotCreate = refusal(useWhoami(), 'operate');

  const create = async () => {
    let definition: unknown;
    try {
      definition = parse(text);
    } catch (err) {
      setError(new Error(`Not valid YAML or JSON: ${(err as Error).message}`));
      return;
    }
    if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
      setError(new Error('The definition must be a mapping (an object), with at least a name and an executor.'));
      return;
    }
    setBusy(true);
    try {
      const job = await post('/v1/jobs', { body: definition as Body<Operation<'/v1/jobs', 'post'>> });
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <div class="page-head">
        <h1>New job</h1>
        <div class="actions">
          <Link to="/jobs" class="button">
            Back to jobs
          </Link>
        </div>
      </div>
      <div class="panel">
        <h2>Definition</h2>
        <textarea
          class="json mono"
          spellcheck={false}
          aria-label="new job definition as YAML or JSON"
          rows={Math.min(40, Math.max(14, text.split('\n').length + 1))}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <FieldErrors error={error} />
        <div class="row-inline">
          <button
            type="button"
            class="primary"
            disabled={busy || cannotCreate !== undefined}
            title={cannotCreate}
            onClick={() => void create()}
          >
            Create
          </button>
        </div>
      </div>
    </section>
  );
}
