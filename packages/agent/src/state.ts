// The agent's persistent state: its id, created once, so a restarted agent is the same agent
// to the coordinator (and its runs, held before the restart, stay attributed to it); and the
// lock that keeps it to one process, since two agents on one state dir would be one agent id
// overwriting each other's runs.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DroverError, holdLockFile, type LockHolder } from '@drover/shared';
import { ulid } from 'ulid';

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A state dir held by this process: `staleHolder` names the gone process whose lock was taken over. */
export interface StateDirLock {
  release(): void;
  staleHolder?: LockHolder;
}

/**
 * Holds `<stateDir>/agent.lock` for this process, or fails naming the process (and host) that
 * holds it. A lock left by a process that is gone is taken over.
 */
export function lockStateDir(stateDir: string): StateDirLock {
  let staleHolder: LockHolder | undefined;
  const release = holdLockFile(join(stateDir, 'agent.lock'), `the agent state dir ${stateDir}`, {
    onTakeover: (holder) => (staleHolder = holder),
  });
  return { release, ...(staleHolder ? { staleHolder } : {}) };
}

/** Reads the agent id from `<stateDir>/agent-id`, creating the directory (0700) and the id (0600) on first start. */
export async function loadAgentId(stateDir: string): Promise<string> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'agent-id');
  const existing = await readId(file);
  if (existing !== undefined) return existing;
  const id = ulid();
  try {
    // `wx`: if another agent process created it first, use that one.
    await writeFile(file, `${id}\n`, { mode: 0o600, flag: 'wx' });
    await chmod(file, 0o600);
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new DroverError('STATE_DIR', `cannot write ${file}: ${(err as Error).message}`, { cause: err });
    const raced = await readId(file);
    if (raced === undefined) throw new DroverError('STATE_DIR', `${file} is empty`);
    return raced;
  }
}

async function readId(file: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DroverError('STATE_DIR', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const id = text.trim();
  if (!ULID_PATTERN.test(id))
    throw new DroverError('STATE_DIR', `${file} does not hold an agent id (a ULID); remove it to let the agent create a new one`);
  return id;
}
