// The bearer token the dashboard sends, and whether the reader must sign in. A coordinator run
// with --insecure (or drover dev) never answers 401, so nobody is ever asked for a token there.
import { useEffect, useState } from 'preact/hooks';

// sessionStorage, not localStorage: the token is a credential (an operator's may cancel runs
// fleet-wide). sessionStorage lives as long as the tab and is never shared with other tabs, so
// closing the tab signs out and a shared or unattended browser does not keep it for the next
// person; localStorage would keep it on disk until someone signs out by hand.
const KEY = 'drover.token';

/** Why the reader is asked to sign in, or undefined while the API accepts what is sent. */
export interface SignIn {
  /** Why the last token is no good: the coordinator's words, or "Signed out."; none when there was no token. */
  reason?: string;
}

let signIn: SignIn | undefined;
const listeners = new Set<() => void>();
const changed = () => listeners.forEach((fn) => fn());

// Where storage is disabled (some private modes), the token lives in this page only.
let unstored: string | undefined;

function store(value: string | undefined): void {
  unstored = value;
  try {
    if (value === undefined) sessionStorage.removeItem(KEY);
    else sessionStorage.setItem(KEY, value);
    unstored = undefined;
  } catch {
    // kept in `unstored`
  }
}

/** The token signed in with on this tab, if any. */
export function token(): string | undefined {
  try {
    return sessionStorage.getItem(KEY) ?? unstored;
  } catch {
    return unstored;
  }
}

/** The authorization header every call carries, when there is a token. */
export function authHeaders(t = token()): Record<string, string> {
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** Keeps a token that the API accepted; the pages load again with it. */
export function signedIn(value: string): void {
  store(value);
  signIn = undefined;
  changed();
}

/** Forgets the token and shows the sign-in view. */
export function signOut(): void {
  store(undefined);
  signIn = { reason: 'Signed out.' };
  changed();
}

/**
 * A call made with `sent` was answered 401: that token is missing, wrong, revoked or expired,
 * and is forgotten. An answer to a call made before the last sign-in changes nothing.
 */
export function tokenRefused(detail: string, sent: string | undefined): void {
  if (signIn || sent !== token()) return;
  store(undefined);
  signIn = sent !== undefined ? { reason: detail } : {};
  changed();
}

/** Whether to show the sign-in view, and whether a token is held; re-renders on change. */
export function useAuth(): { signIn: SignIn | undefined; hasToken: boolean } {
  const [, setVersion] = useState(0);
  useEffect(() => {
    const fn = () => setVersion((v) => v + 1);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  return { signIn, hasToken: token() !== undefined };
}
