import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkSignature,
  newAgentKeyPair,
  privateKeyFromPem,
  publicKeyFromText,
  publicKeyPem,
  signMessage,
  signRefusal,
} from '@drover/shared';
import { loadIdentity, readCoordinatorKey, readJoinToken } from './identity.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'drover-identity-'));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dir, { recursive: true, force: true });
});

describe('agent identity', () => {
  it('creates a private key readable only by its owner, and keeps it across starts', async () => {
    const first = await loadIdentity(dir);
    expect((await stat(join(dir, 'agent-key'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, 'agent-key'), 'utf8')).toMatch(/BEGIN PRIVATE KEY/);
    const again = await loadIdentity(dir);
    expect(again.publicKey).toBe(first.publicKey);
    expect(again.joined).toBe(false);
  });

  it('refuses a key file that group or others can read, saying how to fix it', async () => {
    await loadIdentity(dir);
    await chmod(join(dir, 'agent-key'), 0o644);
    await expect(loadIdentity(dir)).rejects.toThrow(/readable by others \(mode 0644\): run "chmod 600 .*agent-key"/);
  });

  it('signs so that its public key verifies, and remembers a join', async () => {
    const id = await loadIdentity(dir);
    const msg = { agentId: 'A', at: 1 };
    expect(
      checkSignature(publicKeyFromText(id.publicKey), 'heartbeat', 'A', { ...msg, auth: id.sign('heartbeat', 'A', msg) }, Date.now()),
    ).toBe('ok');
    await id.markJoined(['team-a'], undefined);
    expect((await loadIdentity(dir)).joined).toBe(true);
  });

  it('after discard, makes a new key that has not joined', async () => {
    const id = await loadIdentity(dir);
    await id.markJoined(undefined, undefined);
    await id.discard();
    const next = await loadIdentity(dir);
    expect(next.publicKey).not.toBe(id.publicKey);
    expect(next.joined).toBe(false);
  });

  it("pins the cluster key at its join and checks coordinators' messages against it", async () => {
    const cluster = newAgentKeyPair();
    const clusterKey = privateKeyFromPem(cluster.privateKeyPem);
    const offer = { offers: [] };
    const signed = (key = clusterKey, node = 'agent-A') => ({ ...offer, auth: signMessage(key, 'offer', node, offer, Date.now()) });
    const id = await loadIdentity(dir);
    expect(id.checkFromCoordinator('offer', 'agent-A', signed())).toBe('unpinned');
    await id.markJoined(undefined, cluster.publicKey);
    const again = await loadIdentity(dir);
    expect(again.coordinatorKeyPinned).toBe(true);
    const good = signed();
    expect(again.checkFromCoordinator('offer', 'agent-A', good)).toBe('ok');
    expect(again.checkFromCoordinator('offer', 'agent-A', good)).toBe('replayed');
    expect(again.checkFromCoordinator('offer', 'agent-A', offer)).toBe('missing');
    expect(again.checkFromCoordinator('offer', 'agent-A', signed(privateKeyFromPem(newAgentKeyPair().privateKeyPem)))).toBe(
      'bad-signature',
    );
    // An offer signed for another agent's node cannot be replayed to this one.
    expect(again.checkFromCoordinator('offer', 'agent-A', signed(clusterKey, 'agent-B'))).toBe('wrong-agent');
  });

  it("acts on coordinators' answers and refusals only when signed with the pinned key, and never re-pins", async () => {
    const cluster = newAgentKeyPair();
    const clusterKey = privateKeyFromPem(cluster.privateKeyPem);
    const rogueKey = privateKeyFromPem(newAgentKeyPair().privateKeyPem);
    const answer = { known: false, stop: [], re: 'n1' };
    const signedAnswer = (key = clusterKey) => ({ ...answer, auth: signMessage(key, 'heartbeat-answer', 'agent-A', answer, Date.now()) });
    const refusal = { type: 'AGENT_NOT_JOINED', code: 401, message: 'not joined' };
    const signedRefusal = (key = clusterKey) => ({ ...refusal, data: signRefusal(key, 'agent-A', refusal, 'n1', Date.now()) });
    const id = await loadIdentity(dir);
    // Nothing pinned (a first join, or an agent without identity): nothing to check against.
    expect(id.checkAnswer('heartbeat-answer', 'agent-A', answer, 'n1')).toBe('unpinned');
    expect(id.checkRefusal('agent-A', refusal, 'n1')).toBe('unpinned');
    await id.markJoined(undefined, cluster.publicKey);
    expect(id.checkAnswer('heartbeat-answer', 'agent-A', answer, 'n1')).toBe('missing');
    expect(id.checkAnswer('heartbeat-answer', 'agent-A', signedAnswer(rogueKey), 'n1')).toBe('bad-signature');
    const good = signedAnswer();
    expect(id.checkAnswer('heartbeat-answer', 'agent-A', good, 'n2')).toBe('wrong-request');
    expect(id.checkAnswer('heartbeat-answer', 'agent-A', good, 'n1')).toBe('ok');
    expect(id.checkAnswer('heartbeat-answer', 'agent-A', good, 'n1')).toBe('replayed');
    expect(id.checkRefusal('agent-A', refusal, 'n1')).toBe('missing');
    expect(id.checkRefusal('agent-A', signedRefusal(rogueKey), 'n1')).toBe('bad-signature');
    expect(id.checkRefusal('agent-A', signedRefusal(), 'n1')).toBe('ok');
    // A re-join answered with another cluster key does not replace the pinned one.
    await expect(id.markJoined(undefined, newAgentKeyPair().publicKey)).rejects.toThrow(/another cluster key/);
    await id.markJoined(['team-a'], cluster.publicKey);
    expect((await loadIdentity(dir)).coordinatorKeyText).toBe(cluster.publicKey);
  });

  it("keeps the cluster's clock when this host's wall clock is stepped by an hour either way", async () => {
    const cluster = newAgentKeyPair();
    const clusterKey = privateKeyFromPem(cluster.privateKeyPem);
    const id = await loadIdentity(dir);
    await id.markJoined(undefined, cluster.publicKey);
    // The cluster's clock is 10 min ahead of this host's; an answer bound to a nonce teaches it.
    const ahead = 600_000;
    const answer = { known: true, stop: [], re: 'n1' };
    const taught = { ...answer, auth: signMessage(clusterKey, 'heartbeat-answer', 'agent-A', answer, Date.now() + ahead) };
    expect(id.checkAnswer('heartbeat-answer', 'agent-A', taught, 'n1')).toBe('ok');
    const realNow = Date.now.bind(Date);
    for (const step of [3_600_000, -3_600_000]) {
      // NTP (or a resumed VM) steps the wall clock; the monotonic clock runs on.
      vi.spyOn(Date, 'now').mockImplementation(() => realNow() + step);
      const offer = { offers: [], at: step };
      const signed = { ...offer, auth: signMessage(clusterKey, 'offer', 'agent-A', offer, realNow() + ahead) };
      expect(id.checkFromCoordinator('offer', 'agent-A', signed)).toBe('ok');
      expect(Math.abs(id.sign('heartbeat', 'A', {}).ts - (realNow() + ahead))).toBeLessThan(1000);
      // A time stamped by this host's (stepped) clock, told on the cluster's.
      expect(Math.abs(id.clusterTime(Date.now()) - (realNow() + ahead))).toBeLessThan(1000);
    }
  });

  it('takes a cluster key given in advance (--coordinator-key), and refuses one other than the pinned key', async () => {
    const cluster = newAgentKeyPair();
    const id = await loadIdentity(dir);
    id.expectCoordinatorKey(cluster.publicKey);
    expect(id.checkAnswer('registered', 'agent-A', { agentId: 'A' }, 'n1')).toBe('missing');
    await id.markJoined(undefined, cluster.publicKey);
    const again = await loadIdentity(dir);
    expect(() => again.expectCoordinatorKey(newAgentKeyPair().publicKey)).toThrow(/another cluster key than the one this agent pinned/);
    again.expectCoordinatorKey(cluster.publicKey);
    await writeFile(join(dir, 'key.pem'), publicKeyPem(cluster.publicKey));
    expect(await readCoordinatorKey(join(dir, 'key.pem'))).toBe(cluster.publicKey);
    expect(await readCoordinatorKey(cluster.publicKey)).toBe(cluster.publicKey);
    await expect(readCoordinatorKey(join(dir, 'missing'))).rejects.toThrow(/--coordinator-key: cannot read/);
  });

  it('reads the join token from a file, trimmed', async () => {
    await writeFile(join(dir, 'token'), 'drv_abc\n');
    expect(await readJoinToken(undefined, join(dir, 'token'))).toBe('drv_abc');
    expect(await readJoinToken('given', join(dir, 'token'))).toBe('given');
    await expect(readJoinToken(undefined, join(dir, 'missing'))).rejects.toThrow(/cannot read the join token/);
  });
});
