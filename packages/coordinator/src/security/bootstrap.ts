// Start-up checks of API authentication: the bootstrap admin token from the environment, and
// the refusal to serve an API nobody can use, or anybody can use, by accident.
import type { Logger } from 'pino';
import { DroverError } from '@drover/shared';
import type { Db } from '../store/db.js';
import { countLiveApiTokens, createToken, findLiveToken, tokenSecretExists } from '../store/tokens.js';
import { isUniqueViolation } from '../store/jobs.js';

/** True for addresses only this host can reach. */
export const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.');

/**
 * Makes sure an admin token with exactly this string exists: created once, whoever starts
 * first (several coordinators may start together: the unique hash settles the race). A
 * bootstrap token an admin revoked stays revoked. The string itself is never logged.
 */
export async function ensureBootstrapToken(
  db: Db,
  secret: string,
  now: Date,
  log: Logger,
  kind: 'admin' | 'join' = 'admin',
): Promise<void> {
  const variable = kind === 'admin' ? 'DROVER_BOOTSTRAP_TOKEN' : 'DROVER_BOOTSTRAP_JOIN_TOKEN';
  if (!(await tokenSecretExists(db, secret))) {
    try {
      const { token } = await createToken(db, {
        name: kind === 'admin' ? 'bootstrap' : 'bootstrap-join',
        role: kind === 'admin' ? 'admin' : 'agent',
        namespaces: [],
        createdBy: 'system',
        secret,
      });
      log.info({ tokenId: token.id }, `created the bootstrap ${kind === 'admin' ? 'admin' : 'agent join'} token from ${variable}`);
      return;
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }
  if (!(await findLiveToken(db, secret, now)))
    log.warn(`the token in ${variable} was revoked (or expired) and stays so; unset it, and use a token from "drover tokens create"`);
}

/**
 * Refuses to start when authentication is on but no token could call the API: on any
 * address nobody could act, and on a public one the operator most likely forgot to set auth up.
 */
export async function refuseWithoutUsableAuth(db: Db, apiHost: string, now: Date): Promise<void> {
  if ((await countLiveApiTokens(db, now)) > 0) return;
  const fix =
    'set DROVER_BOOTSTRAP_TOKEN=$(openssl rand -hex 32) to create an admin token at start-up (then send it as a bearer token, e.g. DROVER_TOKEN for the CLI), or, for a lab only, start with --insecure (DROVER_INSECURE=true) to serve the API without authentication';
  throw new DroverError(
    'NO_USABLE_AUTH',
    isLoopback(apiHost)
      ? `the API requires a token, but no live token exists, so nobody could use it: ${fix}`
      : `refusing to serve the API on ${apiHost} with no usable authentication (no live API token and no bootstrap token): ${fix}`,
  );
}
