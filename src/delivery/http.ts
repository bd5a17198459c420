// The HTTP client every HTTP sink uses: undici with keep-alive, the shared TLS keys (custom CA, mTLS, SNI), proxies
// from HTTP_PROXY / HTTPS_PROXY / NO_PROXY (EnvHttpProxyAgent), a timeout per request, and gzip.
import { constants, createGzip, type Gzip } from 'node:zlib';
import type { EnvHttpProxyAgent } from 'undici';
import { lazyModule } from '../core/lazy-module.ts';
import { GZIP_LEVEL, type HttpAuth, type TlsConfig } from './config.ts';
import { BodyBuffers, ByteWriter } from './framing.ts';
import { tlsConnectionOptions } from './tls.ts';

const undici = lazyModule<typeof import('undici')>('undici');

/** Output buffer of a compressor: at least the mmap threshold every launcher sets (MALLOC_MMAP_THRESHOLD_=128 KiB),
 * so that it is returned to the system once free, and large enough that a batch's output is one slice of it. */
const GZIP_CHUNK_BYTES = 256 * 1024;

/**
 * gzip compressors kept for the next bodies: one deflate state each, reset between bodies (each body is a gzip member
 * of its own). A fresh one-shot zlib.gzip per request allocated its state and output chunks anew each time, below the
 * mmap threshold: measured, the malloc heap grew by 40 MB on the 1M-line bench. Compression runs in the libuv pool.
 */
class GzipCompressors {
  private readonly idle: Gzip[] = [];

  constructor(private readonly level: number) {}

  async compress(body: Buffer | string): Promise<Buffer> {
    const gzip = this.idle.pop() ?? createGzip({ level: this.level, chunkSize: GZIP_CHUNK_BYTES });
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    gzip.on('data', onData);
    try {
      await new Promise<void>((resolve, reject) => {
        gzip.once('error', reject);
        gzip.write(body);
        gzip.flush(constants.Z_FINISH, () => {
          gzip.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      gzip.destroy();
      throw err;
    }
    gzip.off('data', onData);
    // deflateReset: the next body starts a new gzip member with this state (Node's zlib streams have reset()).
    (gzip as Gzip & { reset(): void }).reset();
    this.idle.push(gzip);
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  }

  close(): void {
    for (const gzip of this.idle.splice(0)) gzip.destroy();
  }
}

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
    this.compressors = new GzipCompressors(options.compressionLevel ?? GZIP_LEVEL);
    const tls = tlsConnectionOptions(options.tls);
    this.dispatcher = new (undici().EnvHttpProxyAgent)({
      connect: tls,
      requestTls: tls,
      keepAliveTimeout: 30_000,
      headersTimeout: options.timeout,
      bodyTimeout: options.timeout,
    });
  }

  /** Where a sink builds its request bodies: buffers used again once a request no longer needs them. */
  readonly bodies = new BodyBuffers();
  private readonly compressors: GzipCompressors;

  /**
   * Sends `body` (compressed when configured); resolves with any status, rejects on network errors and timeouts. A
   * body built in `bodies` goes back there once nothing reads it any more: compressed, or sent and answered 2xx (an
   * early answer or a failure may leave the socket still writing it: that buffer is not used again).
   */
  async send(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    body: string | Buffer | ByteWriter | undefined,
    headers: Record<string, string> = {},
    compress = true,
  ): Promise<HttpResponse> {
    const gzipped = body !== undefined && compress && this.options.compression === 'gzip';
    const bytes = body instanceof ByteWriter ? body.finish() : body;
    // zlib runs in the libuv thread pool: the main thread only hands the body over.
    const payload = gzipped && bytes !== undefined ? await this.compressors.compress(bytes) : bytes;
    if (gzipped && body instanceof ByteWriter) this.bodies.release(body);
    const res = await undici().request(url, {
      method,
      headers: { ...this.options.headers, ...headers, ...(gzipped ? { 'content-encoding': 'gzip' } : {}) },
      body: payload,
      dispatcher: this.dispatcher,
      signal: AbortSignal.timeout(this.options.timeout),
    });
    const raw = Buffer.from(await res.body.arrayBuffer());
    if (!gzipped && body instanceof ByteWriter && res.statusCode >= 200 && res.statusCode < 300)
      this.bodies.release(body);
    return { status: res.statusCode, headers: res.headers, body: raw.toString('utf8'), raw };
  }

  /** Called after the sink drained (or gave up at the shutdown deadline): a request still in flight is abandoned,
   * its events were not acknowledged and are sent again after the restart. */
  async close(): Promise<void> {
    this.compressors.close();
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
