// What agents send goes into PostgreSQL text and jsonb, and PostgreSQL refuses two things a
// JavaScript string can hold: NUL (U+0000) and a lone UTF-16 surrogate (no UTF-8 for it). One
// such character in one event would make the whole report fail, again at every resend. Text
// that is only shown (errors, last lines, names) has them replaced with U+FFFD, as a decoder
// shows bytes it cannot read; output is bytes and is stored as sent (see log-data.ts in shared).
import { Buffer } from 'node:buffer';
import { isStrictBase64, type AgentEvent } from '@drover/shared';

// A NUL, or any surrogate (most are halves of a pair, which is fine: checked again below).
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const SUSPECT = /[\u0000\ud800-\udfff]/;
// NUL, a high surrogate with no low one after it, a low one with no high one before it.
// eslint-disable-next-line no-control-regex -- finding NUL is the point
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The text with what PostgreSQL cannot store (NUL, lone surrogates) replaced by U+FFFD. */
export function storableText(text: string): string {
  if (!SUSPECT.test(text)) return text;
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** `storableText` for a value that should be text; anything else is left for the caller to refuse. */
export function storableIfText<T>(value: T): T {
  return (typeof value === 'string' ? storableText(value) : value) as T;
}

/** A log chunk as the insert takes it: text (stored as its UTF-8) or base64. */
export interface StorableLogData {
  data: string;
  base64: boolean;
}

/**
 * A chunk's data as the insert takes it, or why it cannot be stored. Text PostgreSQL cannot
 * hold (from an agent older than base64 chunks) goes as the base64 of its UTF-8.
 */
export function storableLogData(data: unknown, encoding: unknown): StorableLogData | string {
  if (typeof data !== 'string') return 'its data is not a string';
  if (encoding === 'base64') return isStrictBase64(data) ? { data, base64: true } : 'its data is not valid base64';
  if (encoding !== undefined && encoding !== null) return `its encoding "${String(encoding).slice(0, 40)}" is not base64`;
  if (!SUSPECT.test(data) || storableText(data) === data) return { data, base64: false };
  return { data: Buffer.from(data, 'utf8').toString('base64'), base64: true };
}

/**
 * The event with its text fields storable (see `storableText`). A log chunk's data is left as
 * sent (`storableLogData` takes it); a field of the wrong type is left for fencing or the batch's
 * isolation to refuse.
 */
export function storableEvent(event: AgentEvent): AgentEvent {
  const runId = storableIfText(event.runId);
  if (event.kind === 'started') return runId === event.runId ? event : { ...event, runId };
  if (event.kind === 'log') {
    const stream = storableIfText(event.stream);
    return runId === event.runId && stream === event.stream ? event : { ...event, runId, stream };
  }
  const text = {
    runId,
    jobId: storableIfText(event.jobId),
    outcome: storableIfText(event.outcome),
    signal: storableIfText(event.signal),
    error: storableIfText(event.error),
    lastLines: storableJson(event.lastLines),
  };
  // Nearly always nothing changed: the event itself, not a copy (a report carries thousands).
  const same = (Object.keys(text) as Array<keyof typeof text>).every((k) => text[k] === event[k]);
  return same ? event : { ...event, ...text };
}

/**
 * A JSON value (an agent's registration or heartbeat) with every string in it, keys included,
 * made storable; the value itself when nothing needed it, so the common case copies nothing.
 */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storableText(value) as T;
  if (Array.isArray(value)) {
    const items = value.map((v: unknown) => storableJson(v));
    return (items.some((v, i) => v !== value[i]) ? items : value) as T;
  }
  if (typeof value !== 'object' || value === null) return value;
  let changed = false;
  const entries = Object.entries(value).map(([k, v]) => {
    const key = storableText(k);
    const item = storableJson(v);
    if (key !== k || item !== v) changed = true;
    return [key, item] as const;
  });
  return changed ? (Object.fromEntries(entries) as T) : value;
}
