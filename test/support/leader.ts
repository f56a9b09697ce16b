// Tests with two coordinators ask which one holds the lease before killing, pausing or cutting
// it off, since either may win the race for it at start.
import { api, waitFor } from './http.js';
import type { StartedCoordinator } from './processes.js';

/** The coordinator of `coordinators` that holds the lease, waiting until one does. */
export async function leaderOf(coordinators: readonly StartedCoordinator[]): Promise<StartedCoordinator> {
  return waitFor(
    async () => {
      for (const c of coordinators) if ((await api(c.url).get<{ leader: boolean }>('/readyz')).body.leader) return c;
      return undefined;
    },
    { description: 'a coordinator to hold the lease' },
  );
}
