import { BlockList, isIP } from 'node:net';

/**
 * Which URLs a merchant may register. Webhooks make our functions send requests to a URL someone else
 * chose, so the rules stop them being pointed inward (SSRF): https only, no credentials, no fragment,
 * no IP literal or host name that means "this machine" or a private network. The same address rules
 * run again at delivery time on every address the host name resolves to (DNS rebinding).
 *
 * Locally (`WEBHOOKS_ALLOW_HTTP_LOCALHOST=true`, set only by the local runtime and the tests) a receiver
 * on this machine is allowed: http or https to 127.0.0.1, ::1 or localhost.
 */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

export interface WebhookUrlPolicy {
  readonly allowHttpLocalhost: boolean;
}

// Two lists: a BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules, so they stay apart.
const blockedV4 = new BlockList();
const blockedV6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services live here)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.88.99.0', 24], // 6to4 relay
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blockedV4.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['64:ff9b::', 96], // NAT64: reaches IPv4 addresses, private ones included
  ['64:ff9b:1::', 48], // local NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo, ORCHID...)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: embeds any IPv4 address
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const) {
  blockedV6.addSubnet(network, prefix, 'ipv6');
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const INTERNAL_SUFFIXES = ['.localhost', '.local', '.internal', '.lan', '.home.arpa', '.intranet', '.corp'];

/** The host name without IPv6 brackets or a trailing dot, lower case. */
export const bareHost = (hostname: string): string =>
  hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();

/** The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d in any spelling), if it is one. */
function mappedIpv4(ipv6: string): string | undefined {
  let canonical: string;
  try {
    canonical = new URL(`http://[${ipv6}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const match = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!match?.[1] || !match[2]) return undefined;
  const high = Number.parseInt(match[1], 16);
  const low = Number.parseInt(match[2], 16);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** True for any address that is not a public unicast address. */
export function isPrivateAddress(address: string): boolean {
  const bare = bareHost(address);
  const version = isIP(bare);
  if (version === 4) return blockedV4.check(bare, 'ipv4');
  if (version === 6) {
    const mapped = mappedIpv4(bare);
    return mapped ? blockedV4.check(mapped, 'ipv4') : blockedV6.check(bare, 'ipv6');
  }
  return true;
}

/** The one kind of private destination the local policy allows: this machine, by loopback name. */
export const isLoopbackHost = (hostname: string): boolean => LOOPBACK_NAMES.includes(bareHost(hostname));

/** May a delivery to this URL connect to private addresses? Only to loopback, only under the local policy. */
export const mayReachPrivate = (url: URL, policy: WebhookUrlPolicy): boolean =>
  policy.allowHttpLocalhost && isLoopbackHost(url.hostname);

export type WebhookUrlCheck =
  | { readonly ok: true; readonly url: string }
  | { readonly ok: false; readonly problem: string };

export function checkWebhookUrl(raw: string, policy: WebhookUrlPolicy): WebhookUrlCheck {
  const refuse = (problem: string): WebhookUrlCheck => ({ ok: false, problem });
  if (raw.length > MAX_WEBHOOK_URL_LENGTH)
    return refuse(`must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
  // URL parsing silently drops tabs and newlines and trims spaces; refuse them instead.
  if (!/^[\x21-\x7e]+$/.test(raw)) return refuse('must be printable ASCII without spaces (use punycode)');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('must be an absolute URL');
  }
  if (url.username !== '' || url.password !== '') return refuse('must not contain credentials');
  if (url.hash !== '' || raw.includes('#')) return refuse('must not contain a fragment');
  const host = bareHost(url.hostname);
  const local = policy.allowHttpLocalhost && isLoopbackHost(host);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return refuse('must use https');
  if (local) return { ok: true, url: url.href };
  if (host === '') return refuse('must name a host');
  if (isIP(host) !== 0) {
    return isPrivateAddress(host)
      ? refuse('must not point to a private, loopback or link-local address')
      : { ok: true, url: url.href };
  }
  if (host === 'localhost' || INTERNAL_SUFFIXES.some((suffix) => host.endsWith(suffix))) {
    return refuse('must not point to a local or internal host name');
  }
  if (!host.includes('.')) return refuse('must be a fully qualified host name');
  return { ok: true, url: url.href };
}
