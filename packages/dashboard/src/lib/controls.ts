// Log output is stored exactly as printed, escape sequences and all. Shown as text in the page
// it is already inert (the browser interprets no ANSI), but an invisible character still
// misleads: a bidi override (U+202E) reverses what follows, a carriage return or NUL hides
// itself, and ESC [31m reads as garbage. Each is split out here to be drawn as a visible token.

/** A character drawn as a token: `picture` is what the page shows, `name` its description. */
export interface Control {
  char: string;
  picture: string;
  name: string;
}

// C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides, isolates and
// marks; zero-width characters; the line and paragraph separators; the byte-order mark.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

const NAMES: Record<string, string> = {
  '\u0000': 'NUL',
  '\u0007': 'BEL',
  '\u0008': 'BS',
  '\u000b': 'VT',
  '\u000c': 'FF',
  '\r': 'CR',
  '\u001b': 'ESC',
  '\u007f': 'DEL',
  '\u061c': 'ARABIC LETTER MARK',
  '\u200b': 'ZERO WIDTH SPACE',
  '\u200e': 'LEFT-TO-RIGHT MARK',
  '\u200f': 'RIGHT-TO-LEFT MARK',
  '\u2028': 'LINE SEPARATOR',
  '\u2029': 'PARAGRAPH SEPARATOR',
  '\u202a': 'LEFT-TO-RIGHT EMBEDDING',
  '\u202b': 'RIGHT-TO-LEFT EMBEDDING',
  '\u202c': 'POP DIRECTIONAL FORMATTING',
  '\u202d': 'LEFT-TO-RIGHT OVERRIDE',
  '\u202e': 'RIGHT-TO-LEFT OVERRIDE',
  '\u2066': 'LEFT-TO-RIGHT ISOLATE',
  '\u2067': 'RIGHT-TO-LEFT ISOLATE',
  '\u2068': 'FIRST STRONG ISOLATE',
  '\u2069': 'POP DIRECTIONAL ISOLATE',
  '\ufeff': 'BYTE ORDER MARK',
};

const hex = (code: number) => code.toString(16).toUpperCase().padStart(4, '0');

/** How one control character is drawn: C0 as its Unicode control picture (␛, ␍, ␀), others as <U+202E>. */
export function controlOf(char: string): Control {
  const code = char.codePointAt(0) ?? 0;
  const name = `U+${hex(code)}${NAMES[char] ? ` ${NAMES[char]}` : ''}`;
  if (code < 0x20) return { char, picture: String.fromCodePoint(0x2400 + code), name };
  if (code === 0x7f) return { char, picture: '\u2421', name };
  return { char, picture: `<U+${hex(code)}>`, name };
}

/** The text in pieces: plain strings (tabs and newlines kept) and the control characters between them. */
export function splitControls(text: string): Array<string | Control> {
  const out: Array<string | Control> = [];
  let from = 0;
  for (const m of text.matchAll(CONTROLS)) {
    if (m.index > from) out.push(text.slice(from, m.index));
    out.push(controlOf(m[0]));
    from = m.index + 1;
  }
  if (from < text.length) out.push(text.slice(from));
  return out;
}
