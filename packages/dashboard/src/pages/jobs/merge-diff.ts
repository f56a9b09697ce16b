// The JSON merge patch (RFC 7396) that turns one definition into another: PATCH merges, so a
// member removed in the editor must be sent as null to be removed on the server.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The patch from `before` to `after`; an empty object when nothing changed. */
export function mergeDiff(before: unknown, after: unknown): Json {
  if (!isObject(before) || !isObject(after)) return after as Json;
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
  for (const [key, value] of Object.entries(after)) {
    if (!(key in before)) patch[key] = value;
    else if (JSON.stringify(before[key]) !== JSON.stringify(value))
      patch[key] = isObject(before[key]) && isObject(value) ? mergeDiff(before[key], value) : value;
  }
  return patch;
}
