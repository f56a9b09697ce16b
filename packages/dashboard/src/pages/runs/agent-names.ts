// Runs and attempts carry an agent id; pages show the agent's name, with the id on hover.
// Names are looked up once per id (GET /v1/agents/{id}) and kept.
import { ApiError, get } from '../../api/http.js';

const names = new Map<string, string>();

/** The names of these agents (an agent that left keeps its id), fetching only ids not seen before. */
export async function agentNames(ids: ReadonlyArray<string | null | undefined>): Promise<Map<string, string>> {
  const unknown = [...new Set(ids)].filter((id): id is string => !!id && !names.has(id));
  await Promise.all(
    unknown.map(async (id) => {
      try {
        names.set(id, (await get('/v1/agents/{id}', { path: { id } })).name);
      } catch (err) {
        // Gone from the fleet: remember the id as its name, so it is not asked again.
        if (err instanceof ApiError && err.status === 404) names.set(id, id);
        else throw err;
      }
    }),
  );
  return names;
}
