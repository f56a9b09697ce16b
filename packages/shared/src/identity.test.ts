import { describe, expect, it } from 'vitest';
import { checkSignature, newAgentKeyPair, privateKeyFromPem, publicKeyFromText, signMessage, SIGNATURE_WINDOW_MS } from './identity.js';

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
