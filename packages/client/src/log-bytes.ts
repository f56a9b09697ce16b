// A log chunk's bytes, and how to show bytes that may not be text. The API sends a chunk as
// text when it is valid UTF-8 and as base64 (`encoding: 'base64'`) when not, so any output
// comes back as printed. Shown to a person, the parts that are not UTF-8 must not be mangled
// into U+FFFD: they are split out as single bytes, for the display to draw as \xFF or the like.
// Runs in Node and in browsers (atob, TextEncoder, TextDecoder).

/** What a chunk carries: its data and, for output that is not text, `encoding: 'base64'`. */
export interface EncodedChunk {
  data: string;
  encoding?: 'base64' | undefined;
}

/** The bytes of a chunk, as printed. */
export function chunkBytes(chunk: EncodedChunk): Uint8Array {
  if (chunk.encoding !== 'base64') return new TextEncoder().encode(chunk.data);
  const binary = atob(chunk.data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Length of the well-formed UTF-8 sequence at `i` (Unicode table 3-7), or 0 when there is none. */
function sequenceAt(b: Uint8Array, i: number): number {
  const lead = b[i] ?? 0;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const c = b[i + k];
    return c !== undefined && c >= lo && c <= hi;
  };
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return cont(1) ? 2 : 0;
  if (lead === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if (lead === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (lead >= 0xe1 && lead <= 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (lead === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (lead === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  if (lead >= 0xf1 && lead <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * The bytes in pieces: runs of valid UTF-8 as strings, each byte that is not part of one as a
 * number. Joined back (strings as UTF-8), the pieces are the bytes.
 */
export function utf8Pieces(bytes: Uint8Array): Array<string | number> {
  const out: Array<string | number> = [];
  const decoder = new TextDecoder();
  let from = 0;
  let i = 0;
  while (i < bytes.length) {
    const n = sequenceAt(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    if (i > from) out.push(decoder.decode(bytes.subarray(from, i)));
    out.push(bytes[i] ?? 0);
    from = ++i;
  }
  if (i > from) out.push(decoder.decode(bytes.subarray(from, i)));
  return out;
}

/** How a byte that is not UTF-8 is written for a person: \xFF. */
export function byteEscape(byte: number): string {
  return `\\x${byte.toString(16).padStart(2, '0')}`;
}
