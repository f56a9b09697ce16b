// Agent identity on the bus: every message an agent sends carries an Ed25519 signature over
// what it says, made with the agent's own key, so a coordinator can tell who sent it whatever
// NATS user it came through. One signature per message: a report of 2,000 events costs one.
//
//   signed bytes = "drover-agent/1" LF kind LF agentId LF ts LF nonce LF sha256(JSON of the message without `auth`)
//
// The JSON is the one the bus carries (Moleculer's JSON serializer), so the coordinator hashes
// the object it received; `JSON.stringify(JSON.parse(JSON.stringify(x)))` equals
// `JSON.stringify(x)` for plain data, which is all these messages hold.
import { createHash, createPrivateKey, randomBytes, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';

/**
 * What a message is signed as: one kind per action or event. Agents sign `register`,
 * `heartbeat`, `report`, `capacity` and `offer-reply` with their own key, naming themselves;
 * coordinators sign `offer`, `stop`, `registered` (the answer to a registration),
 * `heartbeat-answer`, `report-answer` and `refusal` (an identity or protocol refusal) with the
 * cluster's key, naming the agent's node id as the recipient, so a message for one agent
 * cannot be replayed to another. Answers also carry `re`, the nonce of the request they answer.
 */
export type SignedKind =
  | 'register'
  | 'heartbeat'
  | 'report'
  | 'capacity'
  | 'offer-reply'
  | 'offer'
  | 'stop'
  | 'registered'
  | 'heartbeat-answer'
  | 'report-answer'
  | 'refusal';

/** The signature a message carries, beside its other fields. */
export interface MessageAuth {
  /** Who signs (an agent: the message's own `agentId`), or, for a coordinator's message, the node it is for. */
  agentId: string;
  /** When it was signed (epoch ms, the agent's clock): outside the window, a message is refused. */
  ts: number;
  /** Random, so two identical messages signed in the same millisecond differ (receivers refuse exact replays). */
  nonce: string;
  /** Ed25519 signature, base64. */
  sig: string;
}

/** How far a signature's time may be from the receiver's clock, either way. */
export const SIGNATURE_WINDOW_MS = 60_000;

const DOMAIN = 'drover-agent/1';

function signedBytes(kind: SignedKind, agentId: string, ts: number, nonce: string, message: object): Buffer {
  // A shallow copy without `auth`: JSON.stringify leaves undefined fields out.
  const digest = createHash('sha256')
    .update(JSON.stringify({ ...message, auth: undefined }))
    .digest('hex');
  return Buffer.from(`${DOMAIN}\n${kind}\n${agentId}\n${ts}\n${nonce}\n${digest}`);
}

/** A new Ed25519 key pair: the private key as PKCS#8 PEM, the public key as base64url (32 bytes). */
export function newAgentKeyPair(): { privateKeyPem: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicKey: publicKeyText(publicKey) };
}

/** The base64url text of an Ed25519 public key (the JWK `x`). */
export function publicKeyText(key: KeyObject): string {
  const x = key.export({ format: 'jwk' }).x;
  if (!x) throw new Error('not an Ed25519 key');
  return x;
}

/** Reads a private key from PEM; throws when it is not an Ed25519 key. */
export function privateKeyFromPem(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`not an Ed25519 key (${key.asymmetricKeyType})`);
  return key;
}

/** Reads a public key from its base64url text; throws when it is not one. */
export function publicKeyFromText(text: string): KeyObject {
  if (!/^[A-Za-z0-9_-]{43}$/.test(text)) throw new Error('an Ed25519 public key is 43 base64url characters');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text }, format: 'jwk' });
}

/** Signs `message` (any object with the fields it sends) as `kind` from `agentId`; returns its `auth`. */
export function signMessage(key: KeyObject, kind: SignedKind, agentId: string, message: object, ts: number): MessageAuth {
  const nonce = randomBytes(9).toString('base64url');
  return { agentId, ts, nonce, sig: sign(null, signedBytes(kind, agentId, ts, nonce, message), key).toString('base64') };
}

/** Why a signature was not accepted, or `ok`. */
export type SignatureCheck = 'ok' | 'missing' | 'wrong-agent' | 'expired' | 'bad-signature';

/**
 * Checks a message's signature against the agent's public key: signed by `agentId` (the agent
 * the message speaks for), within the time window of `now`, over exactly these contents.
 */
export function checkSignature(
  key: KeyObject,
  kind: SignedKind,
  agentId: string,
  message: object,
  now: number,
  windowMs = SIGNATURE_WINDOW_MS,
): SignatureCheck {
  const auth = (message as { auth?: MessageAuth }).auth;
  if (!auth || typeof auth.sig !== 'string' || typeof auth.ts !== 'number' || typeof auth.nonce !== 'string') return 'missing';
  if (auth.agentId !== agentId) return 'wrong-agent';
  if (Math.abs(now - auth.ts) > windowMs) return 'expired';
  let sig: Buffer;
  try {
    sig = Buffer.from(auth.sig, 'base64');
    return verify(null, signedBytes(kind, agentId, auth.ts, auth.nonce, message), key, sig) ? 'ok' : 'bad-signature';
  } catch {
    return 'bad-signature';
  }
}

/**
 * A coordinator's refusal as it is signed: a Moleculer client error carries `type`, `code` and
 * `message`, and in its `data` the nonce of the request it answers (`re`) and the signature.
 */
export interface SignedRefusalData {
  re?: string;
  auth?: MessageAuth;
}

function refusalBody(err: { type?: unknown; code?: unknown; message?: unknown }, data: SignedRefusalData | undefined): object {
  return {
    refusal: String(err.type ?? ''),
    code: Number(err.code ?? 0),
    message: String(err.message ?? ''),
    re: data?.re ?? null,
    auth: data?.auth,
  };
}

/** Signs a refusal (a client error's type, code and message) to the agent on `nodeId`, answering the request of nonce `re`. */
export function signRefusal(
  key: KeyObject,
  nodeId: string,
  err: { type: string; code: number; message: string },
  re: string | undefined,
  ts: number,
): SignedRefusalData {
  const data: SignedRefusalData = { re };
  data.auth = signMessage(key, 'refusal', nodeId, refusalBody(err, data), ts);
  return data;
}

/**
 * Checks a refusal an agent received against the cluster's key: signed for `nodeId`, within the
 * window, over exactly its type, code and message, and answering the request of nonce `re`.
 */
export function checkRefusal(
  key: KeyObject,
  nodeId: string,
  err: { type?: unknown; code?: unknown; message?: unknown; data?: unknown },
  re: string | undefined,
  now: number,
): SignatureCheck | 'wrong-request' {
  const data = (err.data && typeof err.data === 'object' ? err.data : {}) as SignedRefusalData;
  const check = checkSignature(key, 'refusal', nodeId, refusalBody(err, data), now);
  if (check !== 'ok') return check;
  return re !== undefined && data.re !== re ? 'wrong-request' : 'ok';
}

/**
 * Checks a coordinator's answer (`registered`, `heartbeat-answer`, `report-answer`) against the
 * cluster's key: signed for `nodeId`, within the window, and answering the request of nonce `re`
 * (the answer's own `re` field, inside what is signed).
 */
export function checkAnswer(
  key: KeyObject,
  kind: SignedKind,
  nodeId: string,
  answer: object | null | undefined,
  re: string | undefined,
  now: number,
): SignatureCheck | 'wrong-request' {
  if (!answer || typeof answer !== 'object') return 'missing';
  const check = checkSignature(key, kind, nodeId, answer, now);
  if (check !== 'ok') return check;
  return re !== undefined && (answer as { re?: unknown }).re !== re ? 'wrong-request' : 'ok';
}

/**
 * The cluster's public key as an agent is given it (`--coordinator-key`): its base64url text
 * (what `GET /v1/cluster/key` answers as `publicKey`), the same 32 bytes in standard base64, or
 * a PEM `PUBLIC KEY`. Returns the base64url text; throws saying what is accepted.
 */
export function parseCoordinatorKey(text: string): string {
  const t = text.trim();
  try {
    if (t.startsWith('-----BEGIN')) {
      const key = createPublicKey(t);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
      return publicKeyText(key);
    }
    if (/^[A-Za-z0-9+/]{43}=?$/.test(t) && /[+/]|=$/.test(t)) return Buffer.from(t, 'base64').toString('base64url');
    publicKeyFromText(t);
    return t;
  } catch (err) {
    throw new Error(
      `not the cluster's Ed25519 public key (${(err as Error).message}): give the publicKey of GET /v1/cluster/key (43 base64url characters), or its PEM`,
    );
  }
}

/** The PEM (SPKI) of a public key given as base64url text. */
export function publicKeyPem(text: string): string {
  return publicKeyFromText(text).export({ format: 'pem', type: 'spki' }).toString();
}
