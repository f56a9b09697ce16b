// How a chunk of output travels as a JSON string. Output is bytes, and any bytes must arrive as
// printed; but nearly all output is text, and base64 would cost a third more on the wire and a
// decode on each side. So valid UTF-8 travels as text, anything else as base64 with a marker.
import { Buffer, isUtf8 } from 'node:buffer';

/** A chunk's bytes as a JSON string: text when it can be, base64 (marked) when not. */
export interface EncodedLogData {
  data: string;
  encoding?: 'base64';
}

/**
 * Encodes output for an agent's report: text when it is valid UTF-8 without NUL, which
 * PostgreSQL text cannot hold (the coordinator may pass it on as text), else base64.
 */
export function encodeReportedLogData(bytes: Uint8Array): EncodedLogData {
  const buf = asBuffer(bytes);
  return buf.indexOf(0) === -1 && isUtf8(buf) ? { data: buf.toString('utf8') } : { data: buf.toString('base64'), encoding: 'base64' };
}

/** Encodes stored output for a JSON answer: text when it is valid UTF-8 (JSON escapes NUL), else base64. */
export function encodeServedLogData(bytes: Uint8Array): EncodedLogData {
  const buf = asBuffer(bytes);
  return isUtf8(buf) ? { data: buf.toString('utf8') } : { data: buf.toString('base64'), encoding: 'base64' };
}

/**
 * The bytes a chunk carries, or why it carries none: text as its UTF-8 (a lone surrogate,
 * which no agent encodes, becomes U+FFFD), base64 decoded.
 */
export function decodeLogData(data: unknown, encoding: unknown): Buffer | string {
  if (typeof data !== 'string') return 'its data is not a string';
  if (encoding === undefined || encoding === null) return Buffer.from(data, 'utf8');
  if (encoding !== 'base64') return `its encoding "${String(encoding).slice(0, 40)}" is not base64`;
  if (!isStrictBase64(data)) return 'its data is not valid base64';
  return Buffer.from(data, 'base64');
}

// Node decodes base64 leniently (it skips what it cannot read): refuse that, so what is stored is what was sent.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True for canonical, padded base64 and nothing else. */
export function isStrictBase64(text: string): boolean {
  return BASE64.test(text);
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
