// What a job prints, and the names and errors agents and jobs report, reach the operator's
// terminal. Written there as they are, an escape sequence could recolour it, move the cursor,
// set its title, rewrite lines already shown (CR), or reorder text (a bidi override, U+202E):
// a job could hide what it did. At a terminal each such character is written as an escape
// (\x1b, \u202e) instead; tab and newline pass. `--raw` and pipes get the bytes as stored.

// C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides, isolates and
// marks; zero-width characters; the line and paragraph separators; the byte-order mark.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** The text with each control character but \n and \t as \xHH (\uHHHH beyond Latin-1), so it shows and does nothing. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** What to write to a stream: escaped when it is a terminal, as stored when it is not or `raw` is asked for. */
export function forStream(stream: { isTTY?: boolean }, text: string, raw = false): string {
  return raw || !stream.isTTY ? text : escapeControls(text);
}
