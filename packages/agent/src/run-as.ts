// Least privilege on the agent's host: the user attempts run as (`--run-as`) and the root their
// working directories are confined to (`--work-root`), both resolved once at start-up so a
// mistake stops the agent with a message instead of failing every attempt.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
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
      `${setting}: this agent runs as uid ${ownUid} and cannot switch to ${spec.user} (uid ${uid}, gid ${gid}); run the agent as root (it drops every privilege for the jobs it starts) or, in a lab, leave --run-as unset and set --allow-same-user to run jobs as the agent's own user`,
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

/** Who attempts run as, compared with the agent: whether they are the same user, and whether that is allowed. */
export type JobUser = 'separate' | 'same-user-allowed' | 'dev';

/**
 * Refuses an agent whose attempts would run as its own user (no `--run-as`, or `--run-as`
 * naming that user) unless `--allow-same-user` says so: a job of that user can read
 * `/proc/<agent pid>/environ` (the agent's initial environment, join token and NATS password
 * included, whatever the agent later deletes) and the state dir (its private key), and then act
 * as the agent for every namespace it serves. `drover dev`'s agent (`dev`) holds no credentials.
 */
export function checkJobUser(
  opts: { runAs?: RunAsUser; allowSameUser: boolean; dev?: boolean },
  self: { uid: number } = { uid: process.getuid?.() ?? -1 },
): JobUser {
  if (opts.runAs && opts.runAs.uid !== self.uid) return 'separate';
  if (opts.dev) return 'dev';
  if (opts.allowSameUser) return 'same-user-allowed';
  const who = opts.runAs ? `${opts.runAs.user} (uid ${self.uid}), the agent's own user` : `the agent's own user (uid ${self.uid})`;
  throw new LeastPrivilegeError(
    `attempts would run as ${who}, so any job could read this agent's credentials: its join token and NATS password through /proc/${process.pid}/environ, and its private key in the state dir, and then act as this agent. ` +
      'Run the agent as root with --run-as <unprivileged user> (DROVER_RUN_AS; e.g. useradd --system drover-jobs), since root drops every privilege for the jobs it starts, ' +
      'or set --allow-same-user (DROVER_ALLOW_SAME_USER=true) for a lab or a container where the agent holds nothing worth stealing.',
  );
}

/**
 * Makes sure the user attempts run as cannot read the state dir (the agent's private key): the
 * directory gets mode 0700 if group or others could enter it (returned as `tightened`), and one
 * owned by the run-as user, or holding a key file that user owns, is refused (that user could
 * change the mode back).
 */
export async function secureStateDir(stateDir: string, runAs: RunAsUser | undefined): Promise<{ tightened: boolean }> {
  const setting = '--state-dir (DROVER_STATE_DIR)';
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const st = await stat(stateDir);
  if (runAs && st.uid === runAs.uid)
    throw new LeastPrivilegeError(
      `${setting}: ${stateDir} is owned by ${runAs.user}, the user jobs run as, who could then read the agent's private key: chown it to the agent's user (chown -R root: ${stateDir}) or choose another directory`,
    );
  if (runAs) {
    const key = await stat(join(stateDir, 'agent-key')).catch(() => undefined);
    if (key && key.uid === runAs.uid)
      throw new LeastPrivilegeError(
        `${setting}: ${join(stateDir, 'agent-key')} is owned by ${runAs.user}, the user jobs run as: chown it to the agent's user, or remove it and join again with a new join token`,
      );
  }
  if ((st.mode & 0o077) === 0) return { tightened: false };
  try {
    await chmod(stateDir, 0o700);
  } catch (err) {
    throw new LeastPrivilegeError(
      `${setting}: ${stateDir} is open to group or others (mode ${(st.mode & 0o777).toString(8)}) and cannot be made 0700: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return { tightened: true };
}
