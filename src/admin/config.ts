// The `admin:` section of the config: where /metrics, /healthz and /readyz are served. Its own module so that
// `outrider healthcheck`, which runs every 30 s in the image, can read it without loading the rest of Outrider.
import { z } from 'zod';

export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:8686';

export const adminSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve /metrics, /healthz and /readyz.'),
    address: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9a-zA-Z.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8686')
      .default(DEFAULT_ADMIN_ADDRESS)
      .describe('host:port of the admin endpoint. Keep it on loopback unless the network is trusted.'),
  })
  .default({ enabled: true, address: DEFAULT_ADMIN_ADDRESS });

export type AdminConfig = z.output<typeof adminSchema>;

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
