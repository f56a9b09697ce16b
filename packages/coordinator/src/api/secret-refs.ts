// A job may only refer to secrets that exist in its namespace: checked when it is created or
// changed (400 naming the env variable), and again by the dispatcher for every offer.
import { secretReferences, ValidationError, type JobDefinition } from '@drover/shared';
import type { Db } from '../store/db.js';
import { existingSecrets } from '../store/secrets.js';
import { DEFAULT_NAMESPACE } from './access.js';

/** Throws a ValidationError naming each `executor.env.<VAR>` whose secret is missing from the job's namespace. */
export async function requireSecrets(db: Db, def: JobDefinition): Promise<void> {
  const refs = secretReferences(def.executor);
  if (refs.length === 0) return;
  const ns = (def as { namespace?: string }).namespace ?? DEFAULT_NAMESPACE;
  const found = await existingSecrets(db, ns, [...new Set(refs.map((r) => r.secret))]);
  const missing = refs.filter((r) => !found.has(r.secret));
  if (missing.length > 0)
    throw new ValidationError(
      missing.map((r) => ({
        field: r.field,
        message: `no secret "${r.secret}" in namespace "${ns}"; set it first with PUT /v1/secrets/${r.secret}`,
      })),
    );
}
