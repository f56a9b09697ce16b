// The agent's identity: an Ed25519 key pair made on its first start, the private half kept in
// the state dir (mode 0600) and never sent anywhere. The agent joins once with a join token,
// presenting the public half; from then on it signs every message and needs no token.
//
//   <stateDir>/agent-key   PKCS#8 PEM, 0600 — refused at start-up if group or others can read it
//   <stateDir>/joined      written when a coordinator accepted the join (JSON: when, namespaces)
import { chmod, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import {
  DroverError,
  newAgentKeyPair,
  privateKeyFromPem,
  publicKeyText,
  signMessage,
  type MessageAuth,
  type SignedKind,
} from '@drover/shared';

/** A loaded identity: signs messages as this agent. */
export interface AgentIdentity {
  readonly publicKey: string;
  /** Whether a coordinator has accepted this key (the join token is no longer needed). */
  joined: boolean;
  sign(kind: SignedKind, agentId: string, message: object): MessageAuth;
  /** Records that a coordinator accepted the join. */
  markJoined(namespaces: readonly string[] | undefined): Promise<void>;
  /** Forgets the key and the join (after a revocation): the next start makes a new key and must join again. */
  discard(): Promise<void>;
}

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
  const identity: AgentIdentity = {
    publicKey,
    joined: await exists(joinedFile),
    sign: (kind, agentId, message) => signMessage(key, kind, agentId, message, Date.now()),
    async markJoined(namespaces) {
      if (identity.joined) return;
      await writeFile(joinedFile, `${JSON.stringify({ at: new Date().toISOString(), publicKey, namespaces: namespaces ?? null })}\n`, {
        mode: 0o600,
      });
      identity.joined = true;
    },
    async discard() {
      identity.joined = false;
      await rm(joinedFile, { force: true });
      await rm(keyFile, { force: true });
    },
  };
  return identity;
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
