// Process options: each setting is declared once (flag, env var, default, description,
// parser), read from flags, then `DROVER_*` env, then an optional JSON file, validated once
// at start-up. The README's configuration reference is generated from these declarations.
import { readFileSync } from 'node:fs';
import { DroverError } from './errors.js';
import { parseBytes, parseDuration } from './units.js';

/** One setting of a process. `T` is the compiled value's type. */
export interface Setting<T> {
  /** Flag name without dashes: `api-addr`. Also the key in the options file. */
  flag: string;
  env: string;
  description: string;
  /** What the value is, shown in `--help` as `--flag <placeholder>`: `url`, `duration`, `host:port`. */
  placeholder?: string;
  /** Shown in the reference; the parsed default is `parse(defaultText)`, or `undefined` when absent. */
  defaultText?: string;
  /** Turns the raw text (or array, for repeatable flags) into a value, or throws with a reason. */
  parse: (raw: string | string[]) => T;
  repeatable?: boolean;
  boolean?: boolean;
  /**
   * The names the setting had before a rename, still read for one release: a value under one
   * of them is used (below the new name, in the same place) with a warning naming the new one.
   */
  formerly?: { flag: string; env: string };
}

export type SettingsSpec = Record<string, Setting<unknown>>;
export type CompiledOptions<S extends SettingsSpec> = { readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never };

/** Raised when a setting has a bad value; the message names the flag and the env var. */
export class OptionsError extends DroverError {
  override name = 'OptionsError';
  constructor(message: string) {
    super('BAD_OPTION', message);
  }
}

/** Where raw values come from. Flags win over env, env over the file. */
export interface OptionSources {
  flags?: Record<string, string | string[] | boolean | undefined>;
  env?: NodeJS.ProcessEnv;
  file?: string;
  /** Told about settings given under a former name (`Setting.formerly`); default: stderr. */
  warn?: (message: string) => void;
}

function one(raw: string | string[]): string {
  return Array.isArray(raw) ? (raw[raw.length - 1] ?? '') : raw;
}

/** A raw value and where it came from (`--flag`, `DROVER_X`, `flag in file`), for messages. */
interface Found {
  raw: string | string[];
  from: string;
}

/** commander's key of a flag's value: `api-addr` → `apiAddr`. */
function camelCase(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Reads one setting's raw value from the flags, the environment or the file, in that order. */
function findRaw(
  key: string,
  s: Setting<unknown>,
  sources: OptionSources,
  env: NodeJS.ProcessEnv,
  file: Record<string, unknown>,
): Found | undefined {
  // Flags are keyed by setting key, by commander's camelCase of the flag (which differs from the
  // key where the two are spelled apart: `database-sslmode`, `databaseSslMode`) or by flag name.
  const fromFlags = (flag: string, settingKey: string): Found | undefined => {
    const v = sources.flags?.[settingKey] ?? sources.flags?.[camelCase(flag)] ?? sources.flags?.[flag];
    if (v === undefined || v === false || (Array.isArray(v) && v.length === 0)) return undefined;
    return { raw: typeof v === 'boolean' ? 'true' : v, from: `--${flag}` };
  };
  const fromEnv = (name: string): Found | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const raw = s.repeatable
      ? v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
      : v;
    return { raw, from: name };
  };
  const fromFile = (flag: string): Found | undefined => {
    const v = file[flag];
    if (v === undefined) return undefined;
    return { raw: Array.isArray(v) ? v.map(String) : String(v), from: `${flag} in ${sources.file}` };
  };
  const old = s.formerly;
  if (!old) return fromFlags(s.flag, key) ?? fromEnv(s.env) ?? fromFile(s.flag);
  const warn = sources.warn ?? ((message: string) => process.stderr.write(`drover: warning: ${message}\n`));
  return (
    either(fromFlags(s.flag, key), fromFlags(old.flag, camelCase(old.flag)), `--${s.flag}`, warn) ??
    either(fromEnv(s.env), fromEnv(old.env), s.env, warn) ??
    either(fromFile(s.flag), fromFile(old.flag), `${s.flag} in ${sources.file}`, warn)
  );
}

/**
 * A value given in one place under a setting's name and/or its former one: the former name is
 * used with a warning naming `replacement`; both with different values are an error, since
 * either could be the one meant.
 */
function either(
  current: Found | undefined,
  former: Found | undefined,
  replacement: string,
  warn: (message: string) => void,
): Found | undefined {
  if (!former) return current;
  if (current && String(current.raw) !== String(former.raw))
    throw new OptionsError(
      `${current.from} and ${former.from}, its former name, are both set and differ ("${String(current.raw)}", "${String(former.raw)}"): keep ${current.from} and remove ${former.from}`,
    );
  warn(`${former.from} is deprecated and will stop working in the next release: use ${replacement}`);
  return current ?? former;
}

/** Reads, parses and freezes every setting in `spec`; throws OptionsError naming the first bad one. */
export function compileOptions<S extends SettingsSpec>(spec: S, sources: OptionSources): CompiledOptions<S> {
  const env = sources.env ?? process.env;
  let file: Record<string, unknown> = {};
  if (sources.file) {
    try {
      file = JSON.parse(readFileSync(sources.file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new OptionsError(`cannot read options file ${sources.file}: ${(err as Error).message}`);
    }
    // `null`, an array or a scalar would otherwise crash below or list indexes as settings.
    if (typeof file !== 'object' || file === null || Array.isArray(file)) {
      throw new OptionsError(`options file ${sources.file} must hold a JSON object of settings`);
    }
    const known = new Set(Object.values(spec).flatMap((s) => (s.formerly ? [s.flag, s.formerly.flag] : [s.flag])));
    const unknown = Object.keys(file).filter((k) => !known.has(k));
    if (unknown.length > 0) throw new OptionsError(`options file ${sources.file}: unknown setting(s) ${unknown.join(', ')}`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(spec)) {
    const found = findRaw(key, s, sources, env, file);
    let raw: string | string[] | undefined = found?.raw;
    const from = found?.from ?? 'default';
    if (!found && s.defaultText !== undefined) raw = s.repeatable ? [] : s.defaultText;
    if (raw === undefined) {
      out[key] = s.repeatable ? s.parse([]) : undefined;
      continue;
    }
    try {
      out[key] = s.parse(s.repeatable ? (Array.isArray(raw) ? raw : [raw]) : one(raw));
    } catch (err) {
      // Name the flag and the env var whichever the value came from, without repeating `from`.
      const names = [`--${s.flag}`, s.env].filter((n) => n !== from).join(', ');
      throw new OptionsError(`invalid ${from} (${names}): ${(err as Error).message}`);
    }
  }
  return Object.freeze(out) as CompiledOptions<S>;
}

/** Parsers for common kinds of settings. */
export const parse = {
  string: (raw: string | string[]) => one(raw),
  url(protocols: string[]) {
    return (raw: string | string[]) => {
      const v = one(raw);
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new Error(`"${v}" is not a URL`);
      }
      if (!protocols.includes(u.protocol.replace(/:$/, '')))
        throw new Error(`"${v}" must start with ${protocols.map((p) => `${p}://`).join(' or ')}`);
      return v;
    };
  },
  /** A comma-separated list of URLs (the servers of one cluster), kept as given once each is checked. */
  urls(protocols: string[]) {
    const each = parse.url(protocols);
    return (raw: string | string[]) => {
      const parts = one(raw)
        .split(',')
        .map((u) => u.trim());
      if (parts.some((u) => u === '')) throw new Error('an empty URL in the list: separate URLs with single commas');
      return parts.map((u) => each(u)).join(',');
    };
  },
  int(min: number, max = Number.MAX_SAFE_INTEGER) {
    return (raw: string | string[]) => {
      const v = one(raw);
      const n = Number(v);
      if (!Number.isInteger(n) || n < min || n > max) throw new Error(`"${v}" must be a whole number from ${min} to ${max}`);
      return n;
    };
  },
  number(min: number) {
    return (raw: string | string[]) => {
      const v = one(raw);
      const n = Number(v);
      if (!Number.isFinite(n) || n < min) throw new Error(`"${v}" must be a number ≥ ${min}`);
      return n;
    };
  },
  duration(raw: string | string[]): number {
    const v = one(raw);
    const ms = parseDuration(v);
    if (ms === undefined) throw new Error(`"${v}" is not a duration; use e.g. "5s", "250ms", "1m"`);
    return ms;
  },
  bytes(raw: string | string[]): number {
    const v = one(raw);
    const b = parseBytes(v);
    if (b === undefined) throw new Error(`"${v}" is not a size; use e.g. "4GiB", "512MB"`);
    return b;
  },
  boolean(raw: string | string[]): boolean {
    const v = one(raw).toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    throw new Error(`"${v}" is not true or false`);
  },
  /** `host:port`, as for listen addresses. */
  hostPort(raw: string | string[]): { host: string; port: number } {
    const v = one(raw);
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(v);
    const port = Number(m?.[2]);
    if (!m || port > 65535) throw new Error(`"${v}" must be host:port, e.g. 127.0.0.1:7400`);
    return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
  },
  /** Repeatable `key=value` pairs into a map. */
  labels(raw: string | string[]): Record<string, string> {
    const out: Record<string, string> = {};
    for (const item of Array.isArray(raw) ? raw : [raw]) {
      const m = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(item);
      if (!m) throw new Error(`"${item}" must be key=value, e.g. region=eu`);
      out[m[1] ?? ''] = m[2] ?? '';
    }
    return out;
  },
  oneOf<T extends string>(values: readonly T[]) {
    return (raw: string | string[]): T => {
      const v = one(raw);
      if (!(values as readonly string[]).includes(v)) throw new Error(`"${v}" must be one of: ${values.join(', ')}`);
      return v as T;
    };
  },
};

/** How a process writes its log: `auto` is pretty at a terminal and JSON otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The log format setting every long-running process has (`drover coordinator`, `agent`, `dev`). */
export const logFormatSetting: Setting<LogFormat> = {
  flag: 'log-format',
  placeholder: 'auto|json|pretty',
  env: 'DROVER_LOG_FORMAT',
  defaultText: 'auto',
  description:
    'How logs are written to stdout: `pretty` lines for a person, `json` one object per line (for log shippers); `auto` is pretty at a terminal and JSON otherwise.',
  parse: parse.oneOf(LOG_FORMATS),
};

/** The reference's note on a renamed setting's former names. */
function formerly(s: Setting<unknown>): string {
  return s.formerly
    ? ` Formerly \`--${s.formerly.flag}\` (\`${s.formerly.env}\`), still read, with a warning, until the next release.`
    : '';
}

/** A Markdown table of the settings, for the README's configuration reference. */
export function settingsReference(spec: SettingsSpec): string {
  const rows = Object.values(spec).map(
    (s) =>
      `| \`--${s.flag}\` | \`${s.env}\` | ${s.defaultText === undefined || s.defaultText === '' ? '' : `\`${s.defaultText}\``} | ${s.description}${formerly(s)} |`,
  );
  return ['| flag | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
