import { describe, expect, it } from 'vitest';
import { splitControls, type Control } from './controls.js';

/** The text as the page draws it: each control as its picture, in [brackets] to see the seams. */
const drawn = (text: string) =>
  splitControls(text)
    .map((p) => (typeof p === 'string' ? p : `[${p.picture}]`))
    .join('');

describe('splitControls', () => {
  it.each([
    ['plain text', 'hello world', 'hello world'],
    ['tabs and newlines, kept', 'a\tb\nc\n', 'a\tb\nc\n'],
    ['an ANSI colour, its ESC drawn and the rest left as text', '\x1b[31mred\x1b[0m', '[␛][31mred[␛][0m'],
    ['a carriage return that would hide a line', 'secret\roverwritten', 'secret[␍]overwritten'],
    ['CR LF: the CR is shown, the newline kept', 'line\r\n', 'line[␍]\n'],
    ['NUL, BEL, backspace', 'a\0b\x07c\bd', 'a[␀]b[␇]c[␈]d'],
    ['DEL', 'x\x7fy', 'x[␡]y'],
    ['a C1 control (CSI)', 'a\u009b31m', 'a[<U+009B>]31m'],
    ['a right-to-left override', '\u202Eevil', '[<U+202E>]evil'],
    ['bidi isolates and marks', '\u2066a\u2069\u200f', '[<U+2066>]a[<U+2069>][<U+200F>]'],
    ['zero-width and byte-order characters', 'a\u200bb\ufeff', 'a[<U+200B>]b[<U+FEFF>]'],
    ['the line separator', 'a\u2028b', 'a[<U+2028>]b'],
    ['printable Unicode, left alone', 'déjà vu → 日本 ✓', 'déjà vu → 日本 ✓'],
    ['nothing', '', ''],
  ])('%s', (_what, input, expected) => {
    expect(drawn(input)).toBe(expected);
  });

  it('names each control for its tooltip', () => {
    const names = splitControls('\x1b\u202E\r\x01')
      .filter((p): p is Control => typeof p !== 'string')
      .map((c) => c.name);
    expect(names).toEqual(['U+001B ESC', 'U+202E RIGHT-TO-LEFT OVERRIDE', 'U+000D CR', 'U+0001']);
  });

  it('keeps every character: the pieces join back into the text', () => {
    const text = 'a\x1b[1mb\u202Ec\rd\0';
    expect(
      splitControls(text)
        .map((p) => (typeof p === 'string' ? p : p.char))
        .join(''),
    ).toBe(text);
  });
});
