import { describe, expect, it } from 'vitest';
import {
  checkAnswer,
  checkRefusal,
  checkSignature,
  newAgentKeyPair,
  parseCoordinatorKey,
  privateKeyFromPem,
  publicKeyPem,
  publicKeyFromText,
  signMessage,
  signRefusal,
  SIGNATURE_WINDOW_MS,
} from './identity.js';

const T = 1_800_000_000_000;

function keys() {
  const pair = newAgentKeyPair();
  return { priv: privateKeyFromPem(pair.privateKeyPem), pub: publicKeyFromText(pair.publicKey) };
}

describe('message signatures', () => {
  const me = keys();
  const other = keys();
  const report = { agentId: 'A', events: [{ kind: 'started', runId: 'r1', token: 3, at: T }] };
  const signed = () => ({ ...report, auth: signMessage(me.priv, 'report', 'A', report, T) });

  it('accepts what the agent signed, after a JSON round trip (what the bus does)', () => {
    const received = JSON.parse(JSON.stringify(signed())) as ReturnType<typeof signed>;
    expect(checkSignature(me.pub, 'report', 'A', received, T + 1000)).toBe('ok');
  });

  it.each([
    ['another key', () => checkSignature(other.pub, 'report', 'A', signed(), T), 'bad-signature'],
    ['a changed body', () => checkSignature(me.pub, 'report', 'A', { ...signed(), events: [] }, T), 'bad-signature'],
    ['another kind', () => checkSignature(me.pub, 'heartbeat', 'A', signed(), T), 'bad-signature'],
    ['another agent id', () => checkSignature(me.pub, 'report', 'B', { ...signed(), agentId: 'B' }, T), 'wrong-agent'],
    ['too old', () => checkSignature(me.pub, 'report', 'A', signed(), T + SIGNATURE_WINDOW_MS + 1), 'expired'],
    ['from the future', () => checkSignature(me.pub, 'report', 'A', signed(), T - SIGNATURE_WINDOW_MS - 1), 'expired'],
    ['no signature', () => checkSignature(me.pub, 'report', 'A', report, T), 'missing'],
    [
      'garbage',
      () => checkSignature(me.pub, 'report', 'A', { ...report, auth: { agentId: 'A', ts: T, nonce: 'x', sig: '!!' } }, T),
      'bad-signature',
    ],
  ])('refuses %s', (_what, check, expected) => {
    expect(check()).toBe(expected);
  });

  it('refuses a signature whose signed agent differs from its claimed one, even with a valid key', () => {
    // Agent B signs honestly as B but puts A in the message: the agentId inside the signature is B.
    const forged = { ...report, auth: signMessage(other.priv, 'report', 'B', report, T) };
    expect(checkSignature(other.pub, 'report', 'A', forged, T)).toBe('wrong-agent');
  });

  it('signs the same message twice in one millisecond differently', () => {
    expect(signMessage(me.priv, 'report', 'A', report, T).sig).not.toBe(signMessage(me.priv, 'report', 'A', report, T).sig);
  });

  it('rejects malformed public keys', () => {
    expect(() => publicKeyFromText('short')).toThrow(/43 base64url/);
  });
});

describe("coordinators' answers", () => {
  const cluster = keys();
  const rogue = keys();

  it('an answer counts when signed for this node, in time, answering this request', () => {
    const answer = { known: false, stop: [], re: 'nonce-1' };
    const signed = JSON.parse(
      JSON.stringify({ ...answer, auth: signMessage(cluster.priv, 'heartbeat-answer', 'agent-A', answer, T) }),
    ) as object;
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-A', signed, 'nonce-1', T + 1000)).toBe('ok');
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-A', signed, 'nonce-2', T + 1000)).toBe('wrong-request');
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-B', signed, 'nonce-1', T + 1000)).toBe('wrong-agent');
    expect(checkAnswer(cluster.pub, 'report-answer', 'agent-A', signed, 'nonce-1', T + 1000)).toBe('bad-signature');
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-A', signed, 'nonce-1', T + SIGNATURE_WINDOW_MS + 1)).toBe('expired');
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-A', answer, 'nonce-1', T)).toBe('missing');
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-A', undefined, 'nonce-1', T)).toBe('missing');
    // `re` is inside what is signed: changing it breaks the signature.
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-A', { ...signed, re: 'nonce-2' }, 'nonce-2', T)).toBe('bad-signature');
    const forged = { ...answer, auth: signMessage(rogue.priv, 'heartbeat-answer', 'agent-A', answer, T) };
    expect(checkAnswer(cluster.pub, 'heartbeat-answer', 'agent-A', forged, 'nonce-1', T)).toBe('bad-signature');
  });

  it('a refusal counts when its type, code and message are signed for this node, answering this request', () => {
    const refusal = { type: 'AGENT_REVOKED', code: 403, message: 'agent A was revoked' };
    const err = JSON.parse(
      JSON.stringify({ ...refusal, data: { other: 1, ...signRefusal(cluster.priv, 'agent-A', refusal, 'n1', T) } }),
    ) as object;
    expect(checkRefusal(cluster.pub, 'agent-A', err, 'n1', T)).toBe('ok');
    expect(checkRefusal(cluster.pub, 'agent-A', err, 'n2', T)).toBe('wrong-request');
    expect(checkRefusal(cluster.pub, 'agent-B', err, 'n1', T)).toBe('wrong-agent');
    expect(checkRefusal(cluster.pub, 'agent-A', { ...err, type: 'AGENT_NOT_JOINED' }, 'n1', T)).toBe('bad-signature');
    expect(checkRefusal(cluster.pub, 'agent-A', { ...err, message: 'other' }, 'n1', T)).toBe('bad-signature');
    expect(checkRefusal(cluster.pub, 'agent-A', refusal, 'n1', T)).toBe('missing');
    const forged = { ...refusal, data: signRefusal(rogue.priv, 'agent-A', refusal, 'n1', T) };
    expect(checkRefusal(cluster.pub, 'agent-A', forged, 'n1', T)).toBe('bad-signature');
  });
});

describe('the cluster key as an agent is given it', () => {
  const { publicKey } = newAgentKeyPair();
  it('accepts base64url, base64 and PEM, and nothing else', () => {
    expect(parseCoordinatorKey(publicKey)).toBe(publicKey);
    expect(parseCoordinatorKey(` ${Buffer.from(publicKey, 'base64url').toString('base64')}\n`)).toBe(publicKey);
    expect(parseCoordinatorKey(publicKeyPem(publicKey))).toBe(publicKey);
    expect(() => parseCoordinatorKey('nonsense')).toThrow(/GET \/v1\/cluster\/key/);
    const rsa =
      '-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END PUBLIC KEY-----\n';
    expect(() => parseCoordinatorKey(rsa)).toThrow(/not the cluster's Ed25519 public key/);
  });
});
