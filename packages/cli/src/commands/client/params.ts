// Command-line values of the client verbs: --param NAME=VALUE pairs and job files.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { UsageError } from './context.js';

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** commander collector for a repeatable option. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** `["day=2026-01-01", "msg=a=b"]` as `{ day: "2026-01-01", msg: "a=b" }`; a usage error naming the bad pair. */
export function parseParams(pairs: readonly string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new UsageError(`--param "${pair}" is not NAME=VALUE; write e.g. --param day=2026-01-01`);
    const name = pair.slice(0, eq).trim();
    if (!PARAM_NAME.test(name))
      throw new UsageError(`--param "${pair}": "${name}" is not a parameter name (letters, digits and _, not starting with a digit)`);
    if (name in out) throw new UsageError(`--param ${name} is given twice; give each parameter once`);
    out[name] = pair.slice(eq + 1);
  }
  return out;
}

/** Fields the API adds to a job; dropped from a file so `jobs get -o json > f.json && jobs apply -f f.json` round-trips. */
const SERVER_FIELDS = ['id', 'createdAt', 'updatedAt', 'pausedAt', 'version'];

/**
 * The job definitions in a file's text: one JSON object, a JSON array, or YAML with one
 * definition per document (`---`). YAML is a superset of JSON, so both parse the same way.
 */
export function parseJobDocuments(text: string, source: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(text);
  const defs: unknown[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      throw new UsageError(`${source}: ${e.message.split('\n')[0]}`, { cause: e });
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // an empty document, e.g. a trailing ---
    if (Array.isArray(value)) defs.push(...value);
    else defs.push(value);
  }
  if (defs.length === 0) throw new UsageError(`${source} holds no job definition`);
  return defs.map((d, i) => {
    if (typeof d !== 'object' || d === null || Array.isArray(d))
      throw new UsageError(`${source}: definition ${i + 1} is not an object with a name and an executor`);
    const def = { ...(d as Record<string, unknown>) };
    for (const f of SERVER_FIELDS) delete def[f];
    if (typeof def.name !== 'string' || def.name === '')
      throw new UsageError(`${source}: definition ${i + 1} has no "name"; apply finds the job to create or update by its name`);
    return def;
  });
}

/** Reads job definitions from a .json, .yaml or .yml file, or from stdin for "-". */
export function readJobFile(file: string): Record<string, unknown>[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const ext = extname(file).toLowerCase();
  if (ext === '.json') {
    try {
      JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  return parseJobDocuments(text, file);
}
