// The secrets of the jobs a dispatch pass offers: looked up in one query per page of ready jobs,
// decrypted, and put into the offers (`RunOffer.secretEnv`) — the only place a value leaves the
// database in the clear. Nothing here is logged, and values are dropped at the next pass.
import { DEFAULT_NAMESPACE, secretReferences, withoutSecretReferences, type ExecutorSpec } from '@drover/shared';
import type { Db } from '../store/db.js';
import { openSecrets, secretKey } from '../store/secrets.js';
import { SecretDecryptionError, type SecretsKey } from '../security/secrets-crypto.js';
import type { CachedJob } from './job-cache.js';

type Reference = ReturnType<typeof secretReferences>[number];

/** The namespace of a job (a definition without one is in the default namespace). */
export function jobNamespace(job: CachedJob): string {
  const ns = (job.job as { namespace?: unknown }).namespace;
  return typeof ns === 'string' && ns !== '' ? ns : DEFAULT_NAMESPACE;
}

export class JobSecrets {
  /** Per compiled job: its references, and its executor without them (what agents receive). */
  private readonly shapes = new WeakMap<CachedJob, { refs: Reference[]; executor: ExecutorSpec }>();
  /** Resolved env per job id, for this pass only. */
  private values = new Map<string, Record<string, string>>();

  constructor(
    private readonly db: Db,
    private readonly key: SecretsKey | undefined,
  ) {}

  private shape(job: CachedJob): { refs: Reference[]; executor: ExecutorSpec } {
    let s = this.shapes.get(job);
    if (!s) {
      const refs = secretReferences(job.compiled.executor);
      s = { refs, executor: refs.length > 0 ? withoutSecretReferences(job.compiled.executor) : job.compiled.executor };
      this.shapes.set(job, s);
    }
    return s;
  }

  /** Forgets the values of the previous pass. */
  reset(): void {
    this.values = new Map();
  }

  /** Resolves the secrets of these jobs; returns, per job id, why one cannot be offered now. */
  async load(jobs: readonly CachedJob[]): Promise<Map<string, string>> {
    const problems = new Map<string, string>();
    const using = jobs.filter((j) => this.shape(j).refs.length > 0);
    if (using.length === 0) return problems;
    if (!this.key) {
      for (const j of using)
        problems.set(
          j.id,
          'it uses secrets, and this coordinator has no secrets key: start the coordinators with DROVER_SECRETS_KEY (or --secrets-key-file)',
        );
      return problems;
    }
    const wanted = using.flatMap((j) => this.shape(j).refs.map((r) => ({ namespace: jobNamespace(j), name: r.secret })));
    let opened: Map<string, string>;
    try {
      opened = await openSecrets(this.db, this.key, wanted);
    } catch (err) {
      if (!(err instanceof SecretDecryptionError)) throw err;
      for (const j of using) problems.set(j.id, err.message);
      return problems;
    }
    for (const j of using) {
      const ns = jobNamespace(j);
      const env: Record<string, string> = {};
      for (const r of this.shape(j).refs) {
        const value = opened.get(secretKey(ns, r.secret));
        if (value === undefined) {
          problems.set(
            j.id,
            `secret "${r.secret}" (${r.field}) does not exist in namespace "${ns}": set it with PUT /v1/secrets/${r.secret}`,
          );
          break;
        }
        env[r.variable] = value;
      }
      if (!problems.has(j.id)) this.values.set(j.id, env);
    }
    return problems;
  }

  /** The executor and secret env of an offer of this job (loaded by `load` in this pass). */
  offerParts(job: CachedJob): { executor: ExecutorSpec; secretEnv?: Record<string, string> } {
    const { refs, executor } = this.shape(job);
    if (refs.length === 0) return { executor };
    return { executor, secretEnv: this.values.get(job.id) ?? {} };
  }
}
