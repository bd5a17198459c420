// The admin endpoint's address: its format, default and how a client reaches it. No zod here: `outrider healthcheck`
// reads the admin section with this alone, and runs every 30 s in the image (loading zod would double its cost).

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:8686';
export const ADMIN_ADDRESS_PATTERN = /^(\[[0-9a-fA-F:.]+\]|[0-9a-zA-Z.-]+):\d{1,5}$/;
export const ADMIN_ADDRESS_HINT = 'expected host:port, e.g. 127.0.0.1:8686';

export interface AdminSection {
  enabled: boolean;
  address: string;
}

/** The `admin:` section as written in a config (interpolated), checked as the config schema checks it. */
export function readAdminSection(raw: unknown): AdminSection | string {
  if (raw === undefined || raw === null) return { enabled: true, address: DEFAULT_ADMIN_ADDRESS };
  if (typeof raw !== 'object' || Array.isArray(raw)) return 'admin: expected a mapping';
  const { enabled = true, address = DEFAULT_ADMIN_ADDRESS } = raw as Record<string, unknown>;
  if (typeof enabled !== 'boolean') return 'admin.enabled: expected true or false';
  if (typeof address !== 'string' || !ADMIN_ADDRESS_PATTERN.test(address))
    return `admin.address: ${ADMIN_ADDRESS_HINT}`;
  return { enabled, address };
}

/** host and port of an `admin.address` (brackets of an IPv6 host removed). */
export function splitAddress(address: string): { host: string; port: number } {
  const sep = address.lastIndexOf(':');
  return { host: address.slice(0, sep).replace(/^\[|\]$/g, ''), port: Number(address.slice(sep + 1)) };
}

/** The URL a client on this host uses to reach the admin endpoint: a wildcard address is reached on loopback. */
export function adminUrl(address: string, path: string): string {
  const { host, port } = splitAddress(address);
  const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${target.includes(':') ? `[${target}]` : target}:${port}${path}`;
}
