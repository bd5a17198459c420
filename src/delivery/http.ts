// The HTTP client every HTTP sink uses: undici with keep-alive, the shared TLS keys (custom CA, mTLS, SNI), proxies
// from HTTP_PROXY / HTTPS_PROXY / NO_PROXY (EnvHttpProxyAgent), a timeout per request, and gzip.
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { EnvHttpProxyAgent } from 'undici';
import { lazyModule } from '../core/lazy-module.ts';
import { GZIP_LEVEL, type HttpAuth, type TlsConfig } from './config.ts';
import { tlsConnectionOptions } from './tls.ts';

const undici = lazyModule<typeof import('undici')>('undici');

const gzip = promisify(gzipCallback);

export interface HttpTransportOptions {
  timeout: number;
  compression: 'gzip' | 'none';
  /** gzip level (default GZIP_LEVEL). */
  compressionLevel?: number;
  tls: TlsConfig;
  /** Headers sent with every request (authentication, content type). Never logged. */
  headers?: Record<string, string>;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The response body as UTF-8 text. */
  body: string;
  raw: Buffer;
}

export class HttpTransport {
  private readonly dispatcher: EnvHttpProxyAgent;

  constructor(private readonly options: HttpTransportOptions) {
    const tls = tlsConnectionOptions(options.tls);
    this.dispatcher = new (undici().EnvHttpProxyAgent)({
      connect: tls,
      requestTls: tls,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeout,
      bodyTimeout: options.timeout,
    });
  }

  /** Sends `body` (compressed when configured); resolves with any status, rejects on network errors and timeouts. */
  async send(
    method: 'POST' | 'PUT',
    url: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
    compress = true,
  ): Promise<HttpResponse> {
    const gzipped = compress && this.options.compression === 'gzip';
    // zlib runs in the libuv thread pool: the main thread only hands the body over.
    const payload = gzipped ? await gzip(body, { level: this.options.compressionLevel ?? GZIP_LEVEL }) : body;
    const res = await undici().request(url, {
      method,
      headers: { ...this.options.headers, ...headers, ...(gzipped ? { 'content-encoding': 'gzip' } : {}) },
      body: payload,
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(this.options.timeout),
    });
    const raw = Buffer.from(await res.body.arrayBuffer());
    return { status: res.statusCode, headers: res.headers, body: raw.toString('utf8'), raw };
  }

  /** Called after the sink drained (or gave up at the shutdown deadline): a request still in flight is abandoned,
   * its events were not acknowledged and are sent again after the restart. */
  async close(): Promise<void> {
    await this.dispatcher.destroy();
  }
}

/** The `authorization` header for an `auth` config (none when there is none). */
export function authorizationHeaders(auth: HttpAuth | undefined): Record<string, string> {
  switch (auth?.strategy) {
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
    case 'bearer':
      return { authorization: `Bearer ${auth.token}` };
    case 'api_key':
      return { authorization: `ApiKey ${auth.api_key}` };
    default:
      return {};
  }
}
