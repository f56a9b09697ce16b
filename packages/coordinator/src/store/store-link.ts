// This coordinator's own reach to PostgreSQL, as its heartbeat writes and sweeps find it. While
// the store cannot be reached no heartbeat is recorded, so the agents' silence meanwhile is the
// coordinator's deafness, not theirs (DESIGN guarantee 4): the reconciler judges nobody until the
// store has been reachable for one down-deadline again (dispatch/hearing.ts).
import { performance } from 'node:perf_hooks';
import { isStoreUnavailable } from './store-unavailable.js';

/** Follows whether PostgreSQL answers: since when it has without a failure that says it is out of reach. */
export class StoreLink {
  /** Reachable since (on `now`'s clock); undefined after a failure until the next success. */
  private upSince: number | undefined;

  /** Counts as reachable from its creation: the process cannot have heard anything before it started. */
  constructor(private readonly now: () => number = () => performance.now()) {
    this.upSince = now();
  }

  /** A store call went through: if the store was out of reach, it is back from now. */
  succeeded(): void {
    this.upSince ??= this.now();
  }

  /** A store call failed: only a failure that says PostgreSQL is out of reach counts. */
  failed(err: unknown): void {
    if (isStoreUnavailable(err)) this.upSince = undefined;
  }

  /** How long PostgreSQL has been reachable without a break (ms); 0 while it is not. */
  upForMs(): number {
    return this.upSince === undefined ? 0 : this.now() - this.upSince;
  }
}
