// Least privilege on the agent's host: the user attempts run as (`--run-as`) and the root their
// working directories are confined to (`--work-root`), both resolved once at start-up so a
// mistake stops the agent with a message instead of failing every attempt.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, realpath, stat } from 'node:fs/promises';
import { DroverError } from '@drover/shared';
import type { RunAsUser } from './executors/process.js';

/** Raised when `--run-as` or `--work-root` cannot be honoured; the agent does not start. */
export class LeastPrivilegeError extends DroverError {
  override name = 'LeastPrivilegeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('LEAST_PRIVILEGE', message, options);
  }
}

/** One `name:x:id:…` entry of the passwd or group database, through NSS (getent) when available. */
function lookup(db: 'passwd' | 'group', key: string): string[] | undefined {
  try {
    const line = execFileSync('getent', [db, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0];
    return line ? line.split(':') : undefined;
  } catch (err) {
    // Exit status 2: not found. Anything else (no getent at all): read the file.
    if ((err as { status?: number }).status === 2) return undefined;
    const lines = readFileSync(`/etc/${db}`, 'utf8').split('\n');
    const numeric = /^\d+$/.test(key);
    return lines.map((l) => l.split(':')).find((f) => (numeric ? f[2] === key : f[0] === key));
  }
}

/**
 * Resolves `--run-as user[:group]` to ids; throws naming the setting when the user is unknown or
 * cannot be switched to. `self` is the agent's own uid and gid (passed in by tests).
 */
export function resolveRunAs(
  spec: { user: string; group?: string },
  self: { uid: number; gid: number } = { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1 },
): RunAsUser {
  const setting = '--run-as (DROVER_RUN_AS)';
  const pw = lookup('passwd', spec.user);
  if (!pw) throw new LeastPrivilegeError(`${setting}: no user "${spec.user}" on this host; create it (useradd --system) or name another`);
  const uid = Number(pw[2]);
  let gid = Number(pw[3]);
  if (spec.group !== undefined) {
    const gr = lookup('group', spec.group);
    if (!gr) throw new LeastPrivilegeError(`${setting}: no group "${spec.group}" on this host`);
    gid = Number(gr[2]);
  }
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new LeastPrivilegeError(`${setting}: cannot read the ids of "${spec.user}"`);
  const { uid: ownUid, gid: ownGid } = self;
  if (uid === 0) throw new LeastPrivilegeError(`${setting}: "${spec.user}" is root; name an unprivileged user`);
  // Only root may switch: setuid from root to an unprivileged user drops every capability, while
  // a non-root agent holding CAP_SETUID would pass it on to its jobs (ambient capabilities
  // survive a switch between non-root users), and a job could then become root.
  if ((uid !== ownUid || gid !== ownGid) && ownUid !== 0) {
    throw new LeastPrivilegeError(
      `${setting}: this agent runs as uid ${ownUid} and cannot switch to ${spec.user} (uid ${uid}, gid ${gid}); run the agent as root (it drops every privilege for the jobs it starts) or leave --run-as unset to run jobs as the agent's own user`,
    );
  }
  return { user: pw[0] ?? spec.user, uid, gid, home: pw[5] || '/' };
}

/** Creates `--work-root` if missing and returns its real path; throws naming the setting when it is not a usable directory. */
export async function resolveWorkRoot(dir: string): Promise<string> {
  const setting = '--work-root (DROVER_WORK_ROOT)';
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (err) {
    throw new LeastPrivilegeError(`${setting}: cannot use ${dir} as the work root: ${(err as Error).message}`, { cause: err });
  }
}
