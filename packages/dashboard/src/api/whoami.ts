// Who the signed-in token makes the reader, asked once per token (GET /v1/whoami), so buttons
// the role may not use are disabled up front, with the role they need in their tooltip, rather
// than answering 403 when clicked. The coordinator still decides: this only spares the click.
import { useEffect, useState } from 'preact/hooks';
import type { Success } from './types.js';
import { token, useAuth } from './auth.js';
import { get } from './http.js';

export type Whoami = Success<'/v1/whoami', 'get'>;
type Role = Whoami['role'];

/** What a button needs, as the routes declare it (api/access.ts in the coordinator). */
export type Needs = 'trigger' | 'operate';

// Written out, not imported: the dashboard bundles nothing of the coordinator.
const GRANTS: Record<Needs, readonly Role[]> = {
  trigger: ['admin', 'operator', 'submitter'],
  operate: ['admin', 'operator'],
};
const LEAST_ROLE: Record<Needs, Role> = { trigger: 'submitter', operate: 'operator' };

let known: { token: string | undefined; me: Whoami | undefined } | undefined;
const listeners = new Set<() => void>();

function ask(t: string | undefined): void {
  known = { token: t, me: undefined };
  get('/v1/whoami').then(
    (me) => {
      if (known?.token !== t) return;
      known = { token: t, me };
      listeners.forEach((fn) => fn());
    },
    // An older coordinator without /v1/whoami, or a refused token (the sign-in view follows):
    // every button stays enabled, and the coordinator's 403 explains a refusal as before.
    () => undefined,
  );
}

/** The signed-in caller, once the coordinator has said; undefined until then or while signing in. */
export function useWhoami(): Whoami | undefined {
  const { signIn } = useAuth();
  const [, setVersion] = useState(0);
  const t = token();
  useEffect(() => {
    const fn = () => setVersion((v) => v + 1);
    listeners.add(fn);
    return () => void listeners.delete(fn);
  }, []);
  useEffect(() => {
    if (!signIn && (known === undefined || known.token !== t)) ask(t);
  }, [signIn, t]);
  const k = known;
  return !signIn && k !== undefined && k.token === t ? k.me : undefined;
}

/**
 * Why `me` may not do what a button does (its tooltip), or undefined when it may, or while
 * its role is not known yet.
 */
export function refusal(me: Whoami | undefined, needs: Needs | undefined): string | undefined {
  if (!me || !needs || GRANTS[needs].includes(me.role)) return undefined;
  return `Needs the ${LEAST_ROLE[needs]} role or above; this token is ${me.role}.`;
}
