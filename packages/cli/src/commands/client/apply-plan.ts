// `jobs apply`: the file is the whole truth of a job, so updating means a JSON merge patch
// (what PATCH /v1/jobs/{id} takes) that also removes what the file no longer has.

type Json = unknown;

const isObject = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: Json, b: Json): boolean {
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
 * The RFC 7396 merge patch turning `current` into `desired`: members missing from `desired`
 * become null (removed), nested objects are patched member by member, anything else that
 * differs is replaced. Empty when they are equal, so "unchanged" costs no write.
 */
export function replacementPatch(current: Record<string, Json>, desired: Record<string, Json>): Record<string, Json> {
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(current)) if (!(k in desired)) patch[k] = null;
  for (const [k, v] of Object.entries(desired)) {
    const before = current[k];
    if (jsonEqual(before, v)) continue;
    // Patching nested objects member by member removes a member deleted deep inside (one env
    // variable); job definitions hold no nulls, the one value a merge patch cannot carry.
    patch[k] = isObject(before) && isObject(v) ? replacementPatch(before, v) : v;
  }
  return patch;
}

/** A job as the API returns it, less the fields the API adds: what a file would say. */
export function definitionOf(job: Record<string, Json>): Record<string, Json> {
  const { id: _id, createdAt: _c, updatedAt: _u, pausedAt: _p, ...def } = job;
  return def;
}
