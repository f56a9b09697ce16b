import dns from 'node:dns';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DENY_INTERNAL, embeddedIpv4, guardedLookup, internalKind, parseWebhookAllow, refusal } from './webhook-policy.js';

describe('internalKind', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['127.255.0.9', 'a loopback address'],
    ['::1', 'a loopback address'],
    ['0.0.0.0', 'an unspecified address'],
    ['::', 'an unspecified address'],
    ['10.0.0.1', 'a private address'],
    ['172.31.255.255', 'a private address'],
    ['192.168.1.1', 'a private address'],
    ['100.64.0.1', 'a shared (carrier-grade NAT) address'],
    ['169.254.169.254', 'a cloud metadata address'],
    ['169.254.1.1', 'a link-local address'],
    ['fe80::1', 'a link-local address'],
    ['fd12:3456::1', 'a private (unique local) address'],
    ['fd00:ec2::254', 'a cloud metadata address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['::ffff:7f00:1', 'a loopback address'],
    ['::ffff:a9fe:a9fe', 'a cloud metadata address'],
    ['64:ff9b::a00:1', 'a private address'],
    ['224.0.0.1', 'a multicast address'],
    ['255.255.255.255', 'a broadcast address'],
  ])('%s is %s', (address, kind) => {
    expect(internalKind(address)).toBe(kind);
  });

  it.each(['8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(internalKind(address)).toBeUndefined();
  });

  it('finds the IPv4 address in mapped and NAT64 IPv6', () => {
    expect(embeddedIpv4('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(embeddedIpv4('64:ff9b::808:808')).toBe('8.8.8.8');
    expect(embeddedIpv4('2001:db8::1')).toBeUndefined();
  });
});

describe('--webhook-allow', () => {
  it('refuses internal addresses by default, naming the address and the setting', () => {
    expect(refusal(DENY_INTERNAL, '127.0.0.1', '127.0.0.1')).toBe(
      'blocked: 127.0.0.1 is a loopback address; allow it with --webhook-allow (DROVER_WEBHOOK_ALLOW)',
    );
    expect(refusal(DENY_INTERNAL, 'example.com', '93.184.216.34')).toBeUndefined();
  });

  it('allows addresses, CIDRs (also for IPv4-mapped addresses), host names and sub-domains', () => {
    const p = parseWebhookAllow(['127.0.0.1', '10.20.0.0/16,fd00::/8', 'hooks.corp', '*.internal.example']);
    expect(refusal(p, 'x', '127.0.0.1')).toBeUndefined();
    expect(refusal(p, 'x', '::ffff:127.0.0.1')).toBeUndefined();
    expect(refusal(p, 'x', '127.0.0.2')).toMatch(/loopback/);
    expect(refusal(p, 'x', '10.20.3.4')).toBeUndefined();
    expect(refusal(p, 'x', '10.21.3.4')).toMatch(/private/);
    expect(refusal(p, 'x', 'fd00::1')).toBeUndefined();
    expect(refusal(p, 'HOOKS.corp', '192.168.1.1')).toBeUndefined();
    expect(refusal(p, 'a.b.internal.example', '192.168.1.1')).toBeUndefined();
    expect(refusal(p, 'internal.example', '192.168.1.1')).toMatch(/private/);
    expect(refusal(parseWebhookAllow('*'), 'x', '169.254.169.254')).toBeUndefined();
  });

  it.each(['10.0.0.0/33', 'not a host!', '*.', 'http://x', '1.2.3.4/x'])('refuses the rule %s', (rule) => {
    expect(() => parseWebhookAllow([rule])).toThrow(/is not|prefix length/);
  });
});

describe('guardedLookup', () => {
  const lookup = (policy: ReturnType<typeof parseWebhookAllow>, host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown }>((resolve) =>
      guardedLookup(policy)(host, { all }, (err, address) => resolve({ err, address })),
    );

  it('refuses a host name that resolves to an internal address, naming it', async () => {
    const { err } = await lookup(DENY_INTERNAL, 'localhost', false);
    expect(err?.code).toBe('WEBHOOK_BLOCKED');
    expect(err?.message).toMatch(
      /^blocked: (127\.0\.0\.1|::1) is a loopback address; allow it with --webhook-allow .*\(localhost resolves to it\)$/,
    );
  });

  it('hands over the checked addresses when allowed, as one or all', async () => {
    const policy = parseWebhookAllow(['127.0.0.0/8', '::1']);
    const expected = (await dns.promises.lookup('localhost', { all: true })).map((a) => a.address);
    expect(expected.length).toBeGreaterThan(0);
    expect((await lookup(policy, 'localhost', false)).address).toBe(expected[0]);
    expect(((await lookup(policy, 'localhost', true)).address as dns.LookupAddress[]).map((a) => a.address)).toEqual(expected);
  });

  it('is what the socket connects with: an http request through it reaches an allowed address only', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const get = (policy: ReturnType<typeof parseWebhookAllow>) =>
      new Promise<string>((resolve) => {
        const req = http.get({ host: 'localhost', port, family: 4, lookup: guardedLookup(policy) as never, agent: false }, (res) => {
          res.resume();
          resolve(`HTTP ${res.statusCode}`);
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
    try {
      expect(await get(DENY_INTERNAL)).toBe('WEBHOOK_BLOCKED');
      expect(await get(parseWebhookAllow('127.0.0.1'))).toBe('HTTP 200');
    } finally {
      server.close();
    }
  });
});
