// Credentials in URLs (`nats://user:password@host`, `redis://:password@host`, a NATS token as
// `nats://token@host`) must never reach a log line or an error message.

/**
 * Every `scheme://user:password@host` in `text` with its password replaced by `***`, and a
 * user without a password (a token in the user position) replaced by `***`; the rest is kept.
 * Works on one URL, a comma-separated list, or a message that contains URLs.
 */
export function redactUrl(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/?#\s,]*)/gi, (whole, scheme: string, authority: string) => {
    // The last "@" ends the credentials: a password may hold an unencoded "@".
    const at = authority.lastIndexOf('@');
    if (at === -1) return whole;
    const credentials = authority.slice(0, at);
    const colon = credentials.indexOf(':');
    const shown = colon === -1 ? '***' : `${credentials.slice(0, colon)}:***`;
    return `${scheme}${shown}@${authority.slice(at + 1)}`;
  });
}
