// Changing a job with PATCH /v1/jobs/{id}: the API takes a JSON merge patch (RFC 7396), so a
// member removed from a definition must be sent as null. Used by `drover jobs apply` (the file
// is the whole truth of a job) and the dashboard's JSON editor; also exported as
// `@drover/client/merge-patch`, free of openapi-fetch, for the dashboard to bundle.

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/**
 * The merge patch turning `current` into `desired`: members missing from `desired` become null
 * (removed), nested objects are patched member by member, anything else that differs is
 * replaced. Empty when they are equal (key order aside), so "unchanged" costs no write.
 */
export function mergePatch(current: Record<string, unknown>, desired: Record<string, unknown>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const k of Object.keys(current)) if (!(k in desired)) patch[k] = null;
  for (const [k, v] of Object.entries(desired)) {
    const before = current[k];
    if (jsonEqual(before, v)) continue;
    // Patching nested objects member by member removes a member deleted deep inside (one env
    // variable); job definitions hold no nulls, the one value a merge patch cannot carry.
    patch[k] = isObject(before) && isObject(v) ? mergePatch(before, v) : v;
  }
  return patch;
}

/** A job as the API returns it, less the fields the API adds: what POST /v1/jobs takes. */
export function jobDefinitionOf(job: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, createdAt: _c, updatedAt: _u, pausedAt: _p, version: _v, ...def } = job;
  return def;
}
