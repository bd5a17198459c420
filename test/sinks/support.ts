// Shared by the sink tests: real OCSF events, a pipeline around one sink fed by a test source that records its
// acknowledgements, an HTTP receiver whose behaviour a test changes while it runs, and TLS certificates.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach } from 'vitest';
import type { Source, SourceContext } from '../../src/core/component.ts';
import {
  type ContainerRef,
  EncodedEnvelope,
  type Envelope,
  encodeEvent,
  FACTS,
  writeFacts,
} from '../../src/core/envelope.ts';
import { Pipeline } from '../../src/core/pipeline.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { assignEventUid } from '../../src/ocsf/event-uid.ts';
import { mapContainerLine } from '../../src/ocsf/mappers/container-log.ts';
import { findFactory } from '../../src/registry.ts';

export const CONTAINER: ContainerRef = {
  id: 'a'.repeat(64),
  name: 'web-1',
  runtime: 'docker',
  image: { id: `sha256:${'b'.repeat(64)}`, name: 'nginx', tag: '1.27' },
  k8s: { namespace: 'shop', pod: 'web-1-abc', podUid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0', container: 'web' },
};

/** `count` container-log events from `source`, messages "<source> seq=<n>", one second apart from `start`. */
export function makeEvents(
  count: number,
  source = 'app',
  opts: { start?: number; container?: ContainerRef; from?: number } = {},
): Envelope[] {
  const start = opts.start ?? Date.UTC(2026, 10, 23, 9, 0, 0);
  const out: Envelope[] = [];
  for (let i = 0; i < count; i++) {
    const n = (opts.from ?? 0) + i;
    const message = n % 10 === 7 ? `ERROR ${source} seq=${n}` : `${source} seq=${n}`;
    const time = start + n * 1000;
    const raw = JSON.stringify({ log: `${message}\n`, stream: 'stdout', time: new Date(time).toISOString() });
    const container = opts.container ?? CONTAINER;
    const { event } = mapContainerLine({
      format: 'docker-json',
      message,
      time,
      raw,
      stream: 'stdout',
      hostname: 'node-1',
      container,
    });
    out.push({ event, source, raw, container });
  }
  return out;
}

/**
 * The events as a decode worker hands them over: their JSON lines back to back in one buffer, with a row of facts
 * each and the host names that differ from `hostname` (src/sources/container_logs/decode-pool.ts).
 */
export function encodedLikeWorker(events: Envelope[], hostname = 'node-1'): EncodedEnvelope[] {
  // A worker gives every event its metadata.uid before encoding it.
  for (const e of events) assignEventUid(e);
  const lines = events.map((e) => Buffer.from(`${encodeEvent(e)}\n`));
  const bytes = Buffer.concat(lines);
  const facts = new Float64Array(events.length * FACTS);
  let from = 0;
  return events.map((e, i) => {
    writeFacts(e.event, facts, i);
    const host = (e.event.device as { hostname?: string } | undefined)?.hostname ?? '';
    const end = from + lines[i]!.length;
    const encoded = new EncodedEnvelope(e.source, bytes, e.container, from, end, facts, i, host || hostname);
    from = end;
    return encoded;
  });
}

/** Whether the sinks framed an encoded event without decoding it (its bytes are still its truth). */
export const stillBytes = (events: EncodedEnvelope[]): boolean => events.every((e) => e.lineLength !== undefined);

/** The `seq=` numbers of events (by message), in the order given. */
export function seqs(events: Array<{ message?: unknown }>): number[] {
  return events.map((e) => Number(/seq=(\d+)/.exec(String(e.message))?.[1]));
}

/** A source a test drives by hand; it counts the events acknowledged back to it. */
export class TestSource implements Source {
  acked = 0;
  private ctx: SourceContext | undefined;

  async start(ctx: SourceContext): Promise<void> {
    this.ctx = ctx;
  }

  /** Emits a batch; resolves once queued (backpressure), not once acknowledged. */
  emit(events: Envelope[]): Promise<void> {
    return this.ctx!.emit(events, () => {
      this.acked += events.length;
    });
  }

  async stop(): Promise<void> {}
}

// Every harness and receiver a test starts is stopped after it, whatever the test's outcome.
const started = { harnesses: new Set<SinkHarness>(), receivers: new Set<TestReceiver>() };
afterEach(async () => {
  for (const h of started.harnesses) await h.stop(500);
  for (const r of started.receivers) await r.down().catch(() => undefined);
  started.harnesses.clear();
  started.receivers.clear();
});

export interface SinkHarness {
  pipeline: Pipeline;
  source: TestSource;
  metrics: Metrics;
  logs: string[];
  stop(timeoutMs?: number): Promise<boolean>;
}

/** A real Pipeline with one TestSource feeding one sink of `type`, configured as a config file would;
 * `stalledAfterMs` is readiness.stalled_after. */
export async function startSink(
  type: string,
  config: Record<string, unknown>,
  dataDir: string,
  stalledAfterMs?: number,
): Promise<SinkHarness> {
  const factory = findFactory('sink', type);
  if (!factory) throw new Error(`no sink type ${type}`);
  const parsed = factory.configSchema.parse({ inputs: ['app'], ...config }) as Record<string, unknown>;
  const source = new TestSource();
  const metrics = new Metrics(false);
  const logs: string[] = [];
  const pipeline = new Pipeline(
    {
      sources: [{ name: 'app', instance: source }],
      transforms: [],
      sinks: [{ name: 'out', instance: factory.create(parsed as never) as never, common: parsed as never }],
    },
    {
      dataDir,
      hostname: 'test-host',
      logger: createLogger('debug', {}, (l) => logs.push(l)),
      metrics,
      ...(stalledAfterMs === undefined ? {} : { stalledAfterMs }),
    },
  );
  await pipeline.start();
  const harness = { pipeline, source, metrics, logs, stop: (t = 5000) => pipeline.stop(t) };
  started.harnesses.add(harness);
  return harness;
}

/** Sum of a counter or gauge's values whose labels include `labels`. */
export async function metricValue(
  metric: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((n, v) => n + v.value, 0);
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  /** The body, gunzipped when it was sent gzip-encoded. */
  body: Buffer;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Wait this long before answering (a slow receiver). */
  delayMs?: number;
}

export type Handler = (req: ReceivedRequest) => Reply | Promise<Reply>;

/** An HTTP(S) receiver on 127.0.0.1 that can go down (connection refused) and come back on the same port. */
export class TestReceiver {
  readonly requests: ReceivedRequest[] = [];
  private server: Server;
  port = 0;

  constructor(
    public handler: Handler,
    tls?: { key: Buffer; cert: Buffer; ca?: Buffer; requestCert?: boolean },
  ) {
    const listener = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.server = tls
      ? createHttpsServer({ ...tls, rejectUnauthorized: tls.requestCert ?? false }, listener)
      : createHttpServer(listener);
  }

  get url(): string {
    return `${'cert' in this.server ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    started.receivers.add(this);
    return this;
  }

  /** Stops listening and cuts open connections: senders get connection refused until `listen` again. */
  async down(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      const reply = await this.handler(received);
      if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
      if (reply.status >= 200 && reply.status < 300) this.requests.push(received);
      if (res.destroyed) return;
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  }
}

/** Every NDJSON line of the requests a receiver accepted, parsed. */
export function ndjsonReceived(rx: TestReceiver): Array<Record<string, unknown>> {
  return rx.requests.flatMap((r) =>
    r.body
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}

export interface TestPki {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** A throw-away CA, a server certificate for 127.0.0.1/localhost and a client certificate, made with openssl. */
export function makePki(dir: string): TestPki {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  ssl('req', '-x509', '-key', 'ca.key', '-subj', '/CN=Outrider Test CA', '-days', '2', '-out', 'ca.crt');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${who}.key`);
    ssl(
      'req',
      '-new',
      '-key',
      `${who}.key`,
      '-subj',
      `/CN=${who === 'server' ? 'localhost' : 'outrider'}`,
      '-out',
      `${who}.csr`,
    );
    ssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${who}.ext`,
      '-out',
      `${who}.crt`,
    );
  }
  const read = (f: string) => readFileSync(join(dir, f));
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    clientCertFile: join(dir, 'client.crt'),
    clientKeyFile: join(dir, 'client.key'),
    ca: read('ca.crt'),
    cert: read('server.crt'),
    key: read('server.key'),
  };
}
