// Look-ups every route needs, within the caller's namespaces, failing with the 404 that says
// how to find what exists. Something in a namespace the caller cannot see is a 404 too, never
// a 403: a token must not learn what other teams have.
import type { Db } from '../store/db.js';
import { findJobs, jobNamespace, type Job, type NamespaceScope } from '../store/jobs.js';
import { getRun } from '../store/query-runs.js';
import type { Run } from '../store/run-model.js';
import { DEFAULT_NAMESPACE, inNamespace } from './access.js';
import { DomainError, notFound } from '../domain-error.js';
import type { Caller } from './operation.js';

/** The namespaces a caller may see, narrowed by a `?namespace=` filter when given. */
export function scopeOf(caller: Pick<Caller, 'principal'>, namespace?: string): NamespaceScope {
  const mine = caller.principal.namespaces;
  if (namespace === undefined) return mine;
  return mine === 'all' || mine.includes(namespace) ? [namespace] : [];
}

/**
 * The live job an id or name means within `scope`, or a 404 pointing at the job list. A name
 * in several visible namespaces means the `default` one's, else is a 409 asking for
 * `namespace/name` or the id.
 */
export async function findJobIn(db: Db, idOrName: string, scope: NamespaceScope): Promise<Job | undefined> {
  const [first, second] = await findJobs(db, idOrName, scope);
  if (first && second && first.id !== idOrName && first.namespace !== DEFAULT_NAMESPACE)
    throw new DomainError(
      'JOB_NAME_AMBIGUOUS',
      `jobs named "${idOrName}" exist in namespaces ${first.namespace} and ${second.namespace}; say which with "<namespace>/${idOrName}" (URL-encoded as %2F in a path) or use the job's id`,
    );
  return first;
}

/** The live job with this id or name that the caller may see, or a 404; notes its namespace for the audit log. */
export async function requireJob(db: Db, idOrName: string, caller?: Caller): Promise<Job> {
  const job = await findJobIn(db, idOrName, caller ? caller.principal.namespaces : 'all');
  if (!job) throw notFound('job', idOrName, 'list jobs with GET /v1/jobs');
  if (caller) caller.audit.namespace = job.namespace;
  return job;
}

/** The namespace of a run (its job's), or undefined when the job is unknown. */
export const runNamespace = (db: Db, run: Run): Promise<string | undefined> => jobNamespace(db, run.jobId);

/**
 * The run with this id if the caller may see it (it is in one of the caller's namespaces), or
 * a 404; notes its namespace for the audit log.
 */
export async function visibleRun(db: Db, id: string, caller: Caller, what = 'run', hint = 'list runs with GET /v1/runs'): Promise<Run> {
  const run = await getRun(db, id);
  if (!run) throw notFound(what, id, hint);
  // Admins skip the look-up on reads; mutations look it up for their audit record.
  if (caller.principal.namespaces === 'all' && caller.method === 'GET') return run;
  const namespace = await runNamespace(db, run);
  if (namespace === undefined || !inNamespace(caller.principal, namespace)) throw notFound(what, id, hint);
  caller.audit.namespace = namespace;
  return run;
}
