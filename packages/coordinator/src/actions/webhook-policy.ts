// Where webhook actions may POST. A namespace operator writes the URL, and the coordinator makes
// the request from inside the cluster's network: without a policy it could reach the
// coordinator's own API, PostgreSQL, a cloud metadata service. So, by default, addresses that are
// loopback, link-local (with the metadata address), private (RFC 1918, shared/CGNAT, ULA),
// unspecified, multicast or reserved are refused, unless `--webhook-allow` names them.
//
// The check is made on the addresses a host name resolves to, every one of them, by the lookup
// the connection itself uses (see `guardedLookup`): the socket connects to an address that was
// checked, so DNS rebinding cannot slip a private address in between check and connect.
import dns from 'node:dns';
import net from 'node:net';

/** The compiled `--webhook-allow` rules. */
export interface WebhookPolicy {
  /** `*`: every address is allowed (the policy is off). */
  readonly allowAll: boolean;
  /** Addresses and subnets allowed although they would be refused. */
  readonly addresses: net.BlockList;
  /** Host names allowed whatever they resolve to: exact (`hooks.corp`) or suffixes (`*.corp` → `.corp`). */
  readonly hosts: readonly string[];
  readonly suffixes: readonly string[];
  /** The rules as given, for messages. */
  readonly rules: readonly string[];
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/i;

/**
 * Parses `--webhook-allow` rules: a CIDR (`10.1.0.0/16`, `fd00::/8`), an address (`127.0.0.1`,
 * `::1`), a host name (`hooks.corp.example`), a domain's sub-domains (`*.corp.example`), or `*`
 * (everything: the policy is off). Throws naming a rule that is none of these.
 */
export function parseWebhookAllow(raw: string | string[]): WebhookPolicy {
  const rules = (Array.isArray(raw) ? raw : [raw])
    .flatMap((r) => r.split(','))
    .map((r) => r.trim())
    .filter(Boolean);
  const addresses = new net.BlockList();
  const hosts: string[] = [];
  const suffixes: string[] = [];
  let allowAll = false;
  for (const rule of rules) {
    if (rule === '*') {
      allowAll = true;
      continue;
    }
    const slash = rule.indexOf('/');
    const ip = (slash >= 0 ? rule.slice(0, slash) : rule).replace(/^\[|\]$/g, '');
    const family = net.isIP(ip);
    if (family !== 0) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (slash < 0) {
        addresses.addAddress(ip, type);
        continue;
      }
      const prefix = rule.slice(slash + 1);
      if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128))
        throw new Error(`"${rule}": the prefix length must be 0 to ${family === 4 ? 32 : 128}`);
      addresses.addSubnet(ip, Number(prefix), type);
      continue;
    }
    if (slash >= 0 || !HOST_PATTERN.test(rule))
      throw new Error(`"${rule}" is not an address, a CIDR (10.0.0.0/8), a host name, *.domain or *`);
    if (rule.startsWith('*.')) suffixes.push(rule.slice(1).toLowerCase());
    else hosts.push(rule.toLowerCase());
  }
  return { allowAll, addresses, hosts, suffixes, rules };
}

/** The default: no rule, so every internal address is refused. */
export const DENY_INTERNAL: WebhookPolicy = parseWebhookAllow([]);

type Range = readonly [network: string, prefix: number, what: string];

// First match wins: the metadata address before the link-local range it lies in.
const IPV4_RANGES: readonly Range[] = [
  ['169.254.169.254', 32, 'a cloud metadata address'],
  ['0.0.0.0', 8, 'an unspecified address'],
  ['127.0.0.0', 8, 'a loopback address'],
  ['10.0.0.0', 8, 'a private address'],
  ['172.16.0.0', 12, 'a private address'],
  ['192.168.0.0', 16, 'a private address'],
  ['100.64.0.0', 10, 'a shared (carrier-grade NAT) address'],
  ['169.254.0.0', 16, 'a link-local address'],
  ['192.0.0.0', 24, 'a reserved address'],
  ['198.18.0.0', 15, 'a reserved address'],
  ['224.0.0.0', 4, 'a multicast address'],
  ['255.255.255.255', 32, 'a broadcast address'],
  ['240.0.0.0', 4, 'a reserved address'],
];
const IPV6_RANGES: readonly Range[] = [
  ['fd00:ec2::254', 128, 'a cloud metadata address'],
  ['::', 128, 'an unspecified address'],
  ['::1', 128, 'a loopback address'],
  ['fe80::', 10, 'a link-local address'],
  ['fc00::', 7, 'a private (unique local) address'],
  ['ff00::', 8, 'a multicast address'],
];

function blockListOf(ranges: readonly Range[], type: 'ipv4' | 'ipv6'): Array<[net.BlockList, string]> {
  return ranges.map(([network, prefix, what]) => {
    const list = new net.BlockList();
    list.addSubnet(network, prefix, type);
    return [list, what];
  });
}
const IPV4_CLASSES = blockListOf(IPV4_RANGES, 'ipv4');
const IPV6_CLASSES = blockListOf(IPV6_RANGES, 'ipv6');

/** The 8 16-bit groups of an IPv6 address (which may end in dotted IPv4). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a, b, c, d] = dotted[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = parse(tail);
  return tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** The IPv4 address an IPv6 one carries (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible, NAT64 `64:ff9b::/96`), if any. */
export function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (g.length !== 8) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const mapped = zeros(0, 5) && g[5] === 0xffff;
  const compatible = zeros(0, 6) && ((g[6] ?? 0) !== 0 || (g[7] ?? 0) > 1);
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6);
  if (!mapped && !compatible && !nat64) return undefined;
  const hi = g[6] ?? 0;
  const lo = g[7] ?? 0;
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

/** What kind of internal address `address` is ('a loopback address', …), or undefined for a public one. */
export function internalKind(address: string): string | undefined {
  const family = net.isIP(address);
  if (family === 4) return IPV4_CLASSES.find(([list]) => list.check(address, 'ipv4'))?.[1];
  if (family !== 6) return 'not an IP address';
  const v4 = embeddedIpv4(address);
  if (v4 !== undefined) return internalKind(v4);
  return IPV6_CLASSES.find(([list]) => list.check(address, 'ipv6'))?.[1];
}

function hostAllowed(policy: WebhookPolicy, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return policy.hosts.includes(h) || policy.suffixes.some((s) => h.endsWith(s));
}

function addressAllowed(policy: WebhookPolicy, address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return false;
  if (policy.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6')) return true;
  const v4 = family === 6 ? embeddedIpv4(address) : undefined;
  return v4 !== undefined && policy.addresses.check(v4, 'ipv4');
}

/**
 * Why a connection to `address` (which `host` resolved to, or is) is refused, or undefined when it
 * is allowed: `blocked: 127.0.0.1 is a loopback address; allow it with --webhook-allow`.
 */
export function refusal(policy: WebhookPolicy, host: string, address: string): string | undefined {
  if (policy.allowAll || hostAllowed(policy, host) || addressAllowed(policy, address)) return undefined;
  const kind = internalKind(address);
  if (kind === undefined) return undefined;
  return `blocked: ${address} is ${kind}; allow it with --webhook-allow (DROVER_WEBHOOK_ALLOW)`;
}

/** The error a refused connection fails with. */
export class WebhookBlockedError extends Error {
  readonly code = 'WEBHOOK_BLOCKED';
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request: resolves the host, refuses the connection when any of its
 * addresses is refused, else hands the checked addresses to the socket, which connects to them.
 */
export function guardedLookup(policy: WebhookPolicy) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
      for (const a of addresses) {
        const why = refusal(policy, hostname, a.address);
        if (why) return callback(new WebhookBlockedError(`${why} (${hostname} resolves to it)`), '');
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0] as dns.LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}
