import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { TlsConfig } from './config.ts';

/** Node TLS options from the shared `tls` keys; the files are read once, at sink start (a missing file fails it). */
export function tlsConnectionOptions(tls: TlsConfig): ConnectionOptions {
  const options: ConnectionOptions = { rejectUnauthorized: tls.verify_certificate };
  if (tls.ca_file) options.ca = readFileSync(tls.ca_file);
  if (tls.crt_file) options.cert = readFileSync(tls.crt_file);
  if (tls.key_file) options.key = readFileSync(tls.key_file);
  if (tls.server_name) options.servername = tls.server_name;
  return options;
}
