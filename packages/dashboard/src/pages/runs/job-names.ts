// Runs carry a job id; lists show its name. Names are looked up once per id and kept.
import { get } from '../../api/http.js';

const names = new Map<string, string>();

/** The names of these jobs (deleted jobs keep their id), fetching only ids not seen before. */
export async function jobNames(ids: readonly string[]): Promise<Map<string, string>> {
  const unknown = [...new Set(ids)].filter((id) => !names.has(id));
  if (unknown.length > 0) {
    const { items } = await get('/v1/job-summaries', { query: { ids: unknown.join(',') } });
    for (const s of items) names.set(s.jobId, s.name);
    // A deleted job has no summary: remember the id as its name, so it is not asked again.
    for (const id of unknown) if (!names.has(id)) names.set(id, id);
  }
  return names;
}
