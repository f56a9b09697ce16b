import { describe, expect, it } from 'vitest';
import { escapeControls, forStream } from './escape.js';

describe('escapeControls', () => {
  it.each([
    ['plain text', 'hello world', 'hello world'],
    ['tabs and newlines, kept', 'a\tb\nc\n', 'a\tb\nc\n'],
    ['an ANSI colour', '\x1b[31mred\x1b[0m', '\\x1b[31mred\\x1b[0m'],
    ['a terminal title (OSC)', '\x1b]0;pwned\x07', '\\x1b]0;pwned\\x07'],
    ['a cursor move that would hide a line', 'ok\x1b[1A\x1b[2K', 'ok\\x1b[1A\\x1b[2K'],
    ['a carriage return', 'secret\rdone', 'secret\\x0ddone'],
    ['NUL, backspace, DEL', 'a\0b\bc\x7f', 'a\\x00b\\x08c\\x7f'],
    ['a C1 control (8-bit CSI)', '\u009b2J', '\\x9b2J'],
    ['a right-to-left override', '\u202Eevil', '\\u202eevil'],
    ['bidi isolates, zero-width space, byte-order mark', '\u2066a\u2069\u200b\ufeff', '\\u2066a\\u2069\\u200b\\ufeff'],
    ['printable Unicode, left alone', 'déjà vu → 日本 ✓', 'déjà vu → 日本 ✓'],
    ['a backslash, left alone', 'C:\\temp', 'C:\\temp'],
  ])('%s', (_what, input, expected) => {
    expect(escapeControls(input)).toBe(expected);
  });
});

describe('forStream', () => {
  const text = '\x1b[31mred\x1b[0m\n';
  it('escapes at a terminal', () => expect(forStream({ isTTY: true }, text)).toBe('\\x1b[31mred\\x1b[0m\n'));
  it('writes the bytes as stored to a pipe or a file', () => expect(forStream({ isTTY: false }, text)).toBe(text));
  it('writes them as stored at a terminal with --raw', () => expect(forStream({ isTTY: true }, text, true)).toBe(text));
});
