// The agent's identity: an Ed25519 key pair made on its first start, the private half kept in
// the state dir (mode 0600) and never sent anywhere. The agent joins once with a join token,
// presenting the public half; from then on it signs every message and needs no token.
//
//   <stateDir>/agent-key   PKCS#8 PEM, 0600 — refused at start-up if group or others can read it
//   <stateDir>/joined      written when a coordinator accepted the join (JSON: when, namespaces, and the
//                          cluster's public key, pinned: offers and stops must be signed with it)
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import {
  checkAnswer,
  checkRefusal,
  checkSignature,
  DroverError,
  newAgentKeyPair,
  parseCoordinatorKey,
  publicKeyFromText,
  privateKeyFromPem,
  publicKeyText,
  signMessage,
  type MessageAuth,
  type SignatureCheck,
  type SignedKind,
} from '@drover/shared';

/** A loaded identity: signs messages as this agent. */
export interface AgentIdentity {
  readonly publicKey: string;
  /** Whether a coordinator has accepted this key (the join token is no longer needed). */
  joined: boolean;
  sign(kind: SignedKind, agentId: string, message: object): MessageAuth;
  /**
   * Checks a coordinator's message for this agent's node against the pinned cluster key:
   * `unpinned` when none is pinned (not joined, or joined before coordinators signed).
   */
  checkFromCoordinator(kind: SignedKind, nodeId: string, message: object): SignatureCheck | 'unpinned' | 'replayed';
  /**
   * Checks a coordinator's answer to the request of nonce `re` (`registered`,
   * `heartbeat-answer`, `report-answer`) against the pinned cluster key; `unpinned` as above.
   */
  checkAnswer(kind: SignedKind, nodeId: string, answer: unknown, re: string | undefined): AnswerCheck;
  /** Checks a refusal (a client error) answering the request of nonce `re` against the pinned cluster key. */
  checkRefusal(nodeId: string, err: unknown, re: string | undefined): AnswerCheck;
  /**
   * Takes the cluster's clock from a refusal of the request of nonce `re` for its time alone
   * (signed with the pinned key, or any before a first join); true when it moved this agent's
   * clock, so the request is worth signing again.
   */
  adoptClockFromRefusal(nodeId: string, err: unknown, re: string | undefined): boolean;
  /** A time of this host's clock (epoch ms) on the cluster's clock, as learned so far. */
  clusterTime(hostMs: number): number;
  /**
   * Records that a coordinator accepted the join, pinning the cluster's key it named. A key
   * already pinned is never replaced: a re-join must be answered with it (else this throws).
   */
  markJoined(namespaces: readonly string[] | undefined, coordinatorKey: string | undefined): Promise<void>;
  /** Pins the cluster's key of an agent that joined before coordinators signed (trust on first use). */
  pinCoordinatorKey(coordinatorKey: string): Promise<void>;
  readonly coordinatorKeyPinned: boolean;
  /**
   * Pins the cluster key an operator gave (`--coordinator-key`) before any answer is trusted;
   * throws when another key is pinned already.
   */
  expectCoordinatorKey(coordinatorKey: string): void;
  /** The pinned cluster key (base64url), if any. */
  readonly coordinatorKeyText: string | undefined;
  /**
   * Forgets the key and the join (after a revocation, signed with the pinned cluster key when
   * one is pinned): the next start makes a new key and must join again.
   */
  discard(): Promise<void>;
}

/** What a coordinator's answer was found to be: `ok` (signed with the pinned key), `unpinned` (nothing to check against), or why not. */
export type AnswerCheck = SignatureCheck | 'unpinned' | 'replayed' | 'wrong-request';

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return false;
      throw err;
    },
  );
}

/** Loads `<stateDir>/agent-key`, creating it (0600) on first start; refuses a key file group or others can read. */
export async function loadIdentity(stateDir: string): Promise<AgentIdentity> {
  const keyFile = join(stateDir, 'agent-key');
  const joinedFile = join(stateDir, 'joined');
  let key: KeyObject;
  if (await exists(keyFile)) {
    const mode = (await stat(keyFile)).mode & 0o777;
    if ((mode & 0o077) !== 0)
      throw new DroverError(
        'KEY_FILE_PERMISSIONS',
        `${keyFile} holds this agent's private key but is readable by others (mode ${mode.toString(8).padStart(4, '0')}): run "chmod 600 ${keyFile}" (and make sure only the agent's user owns it), then start the agent again`,
      );
    try {
      key = privateKeyFromPem(await readFile(keyFile, 'utf8'));
    } catch (err) {
      throw new DroverError(
        'KEY_FILE',
        `${keyFile} does not hold an Ed25519 private key (${(err as Error).message}): remove it and join again with a new join token`,
        { cause: err },
      );
    }
  } else {
    const pair = newAgentKeyPair();
    try {
      await writeFile(keyFile, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
      await chmod(keyFile, 0o600);
    } catch (err) {
      // Another process of this agent created it first: use that one.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new DroverError('STATE_DIR', `cannot write ${keyFile}: ${(err as Error).message}`, { cause: err });
      return loadIdentity(stateDir);
    }
    // A new key was never accepted by anyone, whatever an old marker says.
    await rm(joinedFile, { force: true });
    key = privateKeyFromPem(pair.privateKeyPem);
  }
  const publicKey = publicKeyText(createPublicKey(key));
  const joined = await readJoined(joinedFile);
  let coordinatorKeyText: string | undefined = joined?.coordinatorKey ?? undefined;
  let coordinatorKey: KeyObject | undefined = coordinatorKeyText ? publicKeyFromText(coordinatorKeyText) : undefined;
  // Coordinator signatures seen within the window, in two generations: an exact replay is refused.
  let seen = new Set<string>();
  let seenBefore = new Set<string>();
  let seenSince = 0;
  // The cluster's clock (PostgreSQL's, as coordinators keep it), taken from answers and
  // refusals bound to this agent's own nonces and advanced by this host's monotonic clock in
  // between, as coordinators keep theirs. Signatures are made and judged on it, so an agent whose
  // host clock is off, or is stepped while it runs (NTP, a resumed VM), is neither refused nor
  // refuses coordinators: a wall-clock offset would carry the step until the next answer.
  let clockBase = Date.now();
  let clockMark = performance.now();
  let clockLearned = false;
  const now = () => Math.round(clockBase + (performance.now() - clockMark));
  const adoptClock = (ts: number) => {
    clockBase = ts;
    clockMark = performance.now();
    clockLearned = true;
  };
  const writeJoined = (namespaces: readonly string[] | null, coordinator: string | undefined) =>
    writeFile(
      joinedFile,
      `${JSON.stringify({ at: new Date().toISOString(), publicKey, namespaces, coordinatorKey: coordinator ?? null })}\n`,
      { mode: 0o600 },
    );
  /** Whether this signature was seen before (within two windows); records it. */
  const replayed = (sig: string): boolean => {
    const at = now();
    if (at - seenSince > 60_000) {
      seenBefore = seen;
      seen = new Set();
      seenSince = at;
    }
    if (seen.has(sig) || seenBefore.has(sig)) return true;
    seen.add(sig);
    return false;
  };
  const identity: AgentIdentity = {
    publicKey,
    joined: joined !== undefined,
    get coordinatorKeyPinned() {
      return coordinatorKey !== undefined;
    },
    get coordinatorKeyText() {
      return coordinatorKeyText;
    },
    sign: (kind, agentId, message) => signMessage(key, kind, agentId, message, now()),
    checkFromCoordinator(kind, nodeId, message) {
      if (!coordinatorKey) return 'unpinned';
      const check = checkSignature(coordinatorKey, kind, nodeId, message, now());
      if (check !== 'ok') return check;
      return replayed((message as { auth?: MessageAuth }).auth?.sig ?? '') ? 'replayed' : 'ok';
    },
    checkAnswer(kind, nodeId, answer, re) {
      if (!coordinatorKey) return 'unpinned';
      // Coordinators before answers named their request signed `registered` without `re`.
      const expect = kind === 'registered' && (answer as { re?: unknown } | undefined)?.re === undefined ? undefined : re;
      // An answer naming this request's fresh nonce is fresh whatever its time says: judged at
      // its own time, it sets this agent's clock. Only an answer without `re` needs the window.
      const ts = (answer as { auth?: MessageAuth } | undefined)?.auth?.ts;
      const bound = expect !== undefined && typeof ts === 'number';
      const check = checkAnswer(coordinatorKey, kind, nodeId, answer as object | undefined, expect, bound ? ts : now());
      if (check !== 'ok') return check;
      if (bound) adoptClock(ts);
      return replayed((answer as { auth?: MessageAuth }).auth?.sig ?? '') ? 'replayed' : 'ok';
    },
    checkRefusal(nodeId, err, re) {
      if (!coordinatorKey) return 'unpinned';
      if (!err || typeof err !== 'object') return 'missing';
      const ts = (err as { data?: { auth?: MessageAuth } }).data?.auth?.ts;
      const check = checkRefusal(coordinatorKey, nodeId, err, re, re !== undefined && typeof ts === 'number' ? ts : now());
      if (check !== 'ok') return check;
      const sig = (err as { data?: { auth?: MessageAuth } }).data?.auth?.sig ?? '';
      return replayed(sig) ? 'replayed' : 'ok';
    },
    clusterTime: (hostMs) => (clockLearned ? hostMs + (now() - Date.now()) : hostMs),
    adoptClockFromRefusal(nodeId, err, re) {
      const e = (err ?? {}) as { message?: unknown; data?: { re?: unknown; auth?: MessageAuth } };
      const ts = e.data?.auth?.ts;
      // Coordinators refuse a signature outside their window as `... (expired)`, signed and bound to the request.
      if (re === undefined || e.data?.re !== re || typeof ts !== 'number' || !/\(expired\)$/.test(String(e.message ?? ''))) return false;
      // Unpinned (a first join): trusted on first use, as the key its answer will hand over.
      if (coordinatorKey && checkRefusal(coordinatorKey, nodeId, err as object, re, ts) !== 'ok') return false;
      const before = now();
      adoptClock(ts);
      return Math.abs(now() - before) > 1_000;
    },
    async markJoined(namespaces, coordinator) {
      if (coordinatorKeyText && coordinator !== coordinatorKeyText)
        throw new DroverError(
          'COORDINATOR_KEY_CHANGED',
          `the join was answered with another cluster key than the one pinned in ${joinedFile}`,
        );
      const pin = coordinatorKeyText ?? coordinator;
      await writeJoined(namespaces ? [...namespaces] : null, pin);
      identity.joined = true;
      if (pin) {
        coordinatorKeyText = pin;
        coordinatorKey = publicKeyFromText(pin);
      }
    },
    expectCoordinatorKey(coordinator) {
      if (coordinatorKeyText && coordinatorKeyText !== coordinator)
        throw new DroverError(
          'COORDINATOR_KEY_MISMATCH',
          `--coordinator-key names another cluster key than the one this agent pinned (${coordinatorKeyText}, in ${joinedFile}): if the cluster's key changed, remove ${joinedFile} and start the agent again`,
        );
      coordinatorKeyText = coordinator;
      coordinatorKey = publicKeyFromText(coordinator);
    },
    async pinCoordinatorKey(coordinator) {
      if (coordinatorKey) return;
      await writeJoined(joined?.namespaces ?? null, coordinator);
      coordinatorKeyText = coordinator;
      coordinatorKey = publicKeyFromText(coordinator);
    },
    async discard() {
      identity.joined = false;
      coordinatorKey = undefined;
      coordinatorKeyText = undefined;
      await rm(joinedFile, { force: true });
      await rm(keyFile, { force: true });
    },
  };
  return identity;
}

/** The `joined` marker, or undefined when the agent has not joined (an unreadable one counts as not joined). */
async function readJoined(file: string): Promise<{ namespaces: string[] | null; coordinatorKey: string | null } | undefined> {
  if (!(await exists(file))) return undefined;
  try {
    const j = JSON.parse(await readFile(file, 'utf8')) as { namespaces?: string[] | null; coordinatorKey?: string | null };
    return { namespaces: j.namespaces ?? null, coordinatorKey: j.coordinatorKey ?? null };
  } catch {
    return { namespaces: null, coordinatorKey: null };
  }
}

/**
 * The cluster key of `--coordinator-key`: the key itself (base64url, base64 or PEM), or a file
 * holding it. Returns its base64url text; throws a DroverError naming the setting.
 */
export async function readCoordinatorKey(setting: string): Promise<string> {
  const text = setting.trim();
  let source = text;
  if (!text.startsWith('-----BEGIN') && !/^[A-Za-z0-9+/_=-]{43,44}$/.test(text)) {
    try {
      source = await readFile(text, 'utf8');
    } catch (err) {
      throw new DroverError('COORDINATOR_KEY', `--coordinator-key: cannot read ${text}: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    return parseCoordinatorKey(source);
  } catch (err) {
    throw new DroverError('COORDINATOR_KEY', `--coordinator-key: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads the join token from the setting or from the file the setting names (trimmed). */
export async function readJoinToken(token: string | undefined, file: string | undefined): Promise<string | undefined> {
  if (token) return token;
  if (!file) return undefined;
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (text === '') throw new Error('the file is empty');
    return text;
  } catch (err) {
    throw new DroverError('JOIN_TOKEN_FILE', `cannot read the join token from ${file}: ${(err as Error).message}`, { cause: err });
  }
}
