// The http (NDJSON webhook) sink against a real HTTP(S) server on 127.0.0.1, and through it the delivery rules every
// network sink shares: TLS with a private CA and client certificates, retries (429 + Retry-After, 5xx, timeouts),
// dead letters, 413 splitting, and acknowledgement to the sources only after the receiver accepted.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, tempDir, waitFor } from '../support/outrider.ts';
import {
  encodedLikeWorker,
  makeEvents,
  makePki,
  metricValue,
  ndjsonReceived,
  type ReceivedRequest,
  seqs,
  startSink,
  stillBytes,
  TestReceiver,
} from './support.ts';

const lines = (r: ReceivedRequest) =>
  r.body
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('http sink', () => {
  it('delivers gzip NDJSON over TLS with a private CA and a client certificate', async () => {
    const dir = tempDir();
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = makePki(pkiDir);
    const receiver = await new TestReceiver(() => ({ status: 200 }), {
      key: pki.key,
      cert: pki.cert,
      ca: pki.ca,
      requestCert: true,
    }).listen();
    const harness = await startSink(
      'http',
      {
        uri: `https://localhost:${receiver.port}/ingest`,
        auth: { strategy: 'bearer', token: 's3cret-token' },
        tls: { ca_file: pki.caFile, crt_file: pki.clientCertFile, key_file: pki.clientKeyFile },
        batch: { timeout: 50 },
      },
      dir,
    );
    await harness.source.emit(makeEvents(50));
    expect(await waitFor(() => harness.source.acked === 50, 10_000)).toBe(true);
    const events = ndjsonReceived(receiver);
    expect(seqs(events)).toEqual([...Array(50).keys()]);
    const req = receiver.requests[0]!;
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.headers['content-type']).toBe('application/x-ndjson');
    expect(req.headers.authorization).toBe('Bearer s3cret-token');
    expect(harness.logs.join('\n')).not.toContain('s3cret-token');
    const file = recordOutput('sinks/http-tls', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('verifies the server certificate by default: an unknown CA is never trusted', async () => {
    const dir = tempDir();
    const pkiDir = join(dir, 'pki');
    mkdirSync(pkiDir);
    const pki = makePki(pkiDir);
    const receiver = await new TestReceiver(() => ({ status: 200 }), { key: pki.key, cert: pki.cert }).listen();
    const harness = await startSink(
      'http',
      { uri: `https://localhost:${receiver.port}/`, batch: { timeout: 10 } },
      dir,
    );
    await harness.source.emit(makeEvents(3));
    await waitFor(() => harness.logs.some((l) => l.includes('retrying')), 5000);
    expect(receiver.requests).toHaveLength(0);
    expect(harness.source.acked).toBe(0);
  });

  it('keeps events while the receiver is down and delivers them in order once it is back', async () => {
    const dir = tempDir();
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    await receiver.down();
    const harness = await startSink(
      'http',
      {
        uri: `${receiver.url}/`,
        batch: { max_events: 20, timeout: 10 },
        retry: { initial_backoff: 50, max_backoff: 200 },
      },
      dir,
    );
    for (let b = 0; b < 5; b++) await harness.source.emit(makeEvents(20, 'app', { from: b * 20 }));
    await new Promise((r) => setTimeout(r, 700));
    expect(harness.source.acked).toBe(0);
    await receiver.listen();
    expect(await waitFor(() => harness.source.acked === 100, 10_000)).toBe(true);
    const events = ndjsonReceived(receiver);
    expect(seqs(events)).toEqual([...Array(100).keys()]);
    expect(await metricValue(harness.metrics.sinkEventsRetried, { component: 'out' })).toBeGreaterThan(0);
    expect(await metricValue(harness.metrics.sinkEventsAcknowledged, { component: 'out' })).toBe(100);
    const file = recordOutput('sinks/http-outage', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('honours Retry-After on 429, retries 500 and a receiver too slow to answer in time', async () => {
    const dir = tempDir();
    const answers = [
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 500, body: 'boom' },
      { status: 200, delayMs: 1500 },
    ];
    const times: number[] = [];
    const receiver = await new TestReceiver(() => {
      times.push(Date.now());
      return answers.shift() ?? { status: 200 };
    }).listen();
    const harness = await startSink(
      'http',
      {
        uri: `${receiver.url}/`,
        timeout: 500,
        batch: { timeout: 10 },
        retry: { initial_backoff: 50, max_backoff: 100 },
      },
      dir,
    );
    await harness.source.emit(makeEvents(10));
    expect(await waitFor(() => harness.source.acked === 10, 15_000)).toBe(true);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    // The slow answer came after the timeout: the batch was sent again (at-least-once), nothing is missing.
    const events = ndjsonReceived(receiver);
    expect(new Set(seqs(events))).toEqual(new Set([...Array(10).keys()]));
    expect(await metricValue(harness.metrics.sinkEventsRetried, { component: 'out' })).toBe(30);
    const file = recordOutput('sinks/http-retries', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('splits a batch answered 413 and dead-letters an event too large on its own', async () => {
    const dir = tempDir();
    const receiver = await new TestReceiver((req) => {
      const n = lines(req);
      return n.length > 4 || seqs(n).includes(5) ? { status: 413 } : { status: 200 };
    }).listen();
    const harness = await startSink('http', { uri: `${receiver.url}/`, batch: { timeout: 10 } }, dir);
    await harness.source.emit(makeEvents(12));
    expect(await waitFor(() => harness.source.acked === 12, 10_000)).toBe(true);
    const events = ndjsonReceived(receiver);
    expect(seqs(events)).toEqual([0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11]);
    const dead = readNdjson<{ reason: string; sink: string; event: { message: string } }>(
      join(dir, 'state', 'out', 'dead-letter.ndjson'),
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^HTTP 413/);
    expect(dead[0]!.event.message).toBe('app seq=5');
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered, { reason: 'http_413' })).toBe(1);
    const file = recordOutput('sinks/http-413', [...events, ...dead.map((d) => d.event)]);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('keeps events the destination refuses with 401 and delivers them once it accepts again; not ready meanwhile', async () => {
    // Measured before: 401 for 8 s then 200 dead-lettered all 82 events, and /readyz stayed 200.
    const dir = tempDir();
    let refusing = true;
    let refused = 0;
    const receiver = await new TestReceiver(() => {
      if (!refusing) return { status: 200 };
      refused++;
      return { status: 401, body: 'token expired' };
    }).listen();
    const harness = await startSink(
      'http',
      {
        uri: `${receiver.url}/`,
        batch: { max_events: 20, timeout: 10 },
        retry: { initial_backoff: 20, max_backoff: 100 },
      },
      dir,
    );
    for (let b = 0; b < 4; b++) await harness.source.emit(makeEvents(20, 'app', { from: b * 20 }));
    await harness.source.emit(makeEvents(2, 'app', { from: 80 }));
    // Not ready at once, with the reason; nothing acknowledged, nothing dead-lettered.
    expect(await waitFor(() => harness.pipeline.readiness().components.out?.healthy === false, 5000)).toBe(true);
    expect(harness.pipeline.readiness().ready).toBe(false);
    expect(harness.pipeline.readiness().components.out?.reason).toMatch(/destination refuses.*HTTP 401: token expired/);
    await new Promise((r) => setTimeout(r, 1500));
    expect(refused).toBeGreaterThan(5);
    expect(harness.source.acked).toBe(0);
    refusing = false;
    expect(await waitFor(() => harness.source.acked === 82, 10_000)).toBe(true);
    expect(seqs(ndjsonReceived(receiver))).toEqual([...Array(82).keys()]);
    expect(existsSync(join(dir, 'state', 'out', 'dead-letter.ndjson'))).toBe(false);
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered)).toBe(0);
    expect(await metricValue(harness.metrics.componentErrors, { component: 'out', reason: 'destination' })).toBe(
      refused,
    );
    expect(await waitFor(() => harness.pipeline.readiness().ready, 5000)).toBe(true);
    // One line when it started, one when it ended — not one per retry.
    const logs = harness.logs.map((l) => JSON.parse(l) as { level: string; msg: string });
    const problemLines = logs.filter((l) => l.msg.startsWith('sink cannot deliver') && l.level !== 'debug');
    expect(problemLines.map((l) => [l.level, l.msg])).toEqual([
      ['warn', 'sink cannot deliver; retrying'],
      ['info', 'sink cannot deliver; retrying: resolved'],
    ]);
    expect(logs.filter((l) => l.msg === 'component degraded')).toHaveLength(1);
    expect(logs.filter((l) => l.msg === 'component ready again')).toHaveLength(1);
  });

  it('readiness tells the truth: connection refused, then a receiver holding requests open; recovers by itself', async () => {
    let holdMs = 0;
    const receiver = await new TestReceiver(() => ({ status: 200, delayMs: holdMs })).listen();
    await receiver.down();
    const harness = await startSink(
      'http',
      {
        uri: `${receiver.url}/`,
        batch: { max_events: 10, timeout: 10 },
        queue: { max_events: 20 },
        retry: { initial_backoff: 20, max_backoff: 100 },
      },
      tempDir(),
      400,
    );
    const readiness = () => harness.pipeline.readiness().components;
    void (async () => {
      for (let b = 0; b < 10; b++) await harness.source.emit(makeEvents(10, 'app', { from: b * 10 }));
    })();
    expect(await waitFor(() => readiness().out?.healthy === false, 5000)).toBe(true);
    expect(readiness().out?.reason).toMatch(/writes failing for .*ECONNREFUSED/);
    // The source waits for room in the sink's full queue: held back, and it says so.
    expect(await waitFor(() => readiness().app?.healthy === false, 5000)).toBe(true);
    expect(readiness().app?.reason).toMatch(/held back for .* sink out takes no more events/);
    // Back, but holding every request open for 3 s: nothing fails, nothing progresses.
    holdMs = 3000;
    await receiver.listen();
    expect(await waitFor(() => /no progress for/.test(readiness().out?.reason ?? ''), 5000)).toBe(true);
    expect(readiness().out?.reason).toMatch(/1 batches in flight/);
    holdMs = 0;
    expect(await waitFor(() => harness.source.acked === 100, 20_000)).toBe(true);
    expect(await waitFor(() => harness.pipeline.readiness().ready, 5000)).toBe(true);
  });

  it('dead-letters only the event a 400 refuses: the batch is split until it is alone', async () => {
    const dir = tempDir();
    const receiver = await new TestReceiver((req) =>
      seqs(lines(req)).includes(13) ? { status: 400, body: 'cannot parse event' } : { status: 200 },
    ).listen();
    const deadLetter = join(dir, 'dlq', 'http.ndjson');
    const harness = await startSink(
      'http',
      { uri: `${receiver.url}/`, batch: { timeout: 10 }, dead_letter: { path: deadLetter } },
      dir,
    );
    await harness.source.emit(makeEvents(40));
    expect(await waitFor(() => harness.source.acked === 40, 10_000)).toBe(true);
    expect(seqs(ndjsonReceived(receiver))).toEqual([...Array(40).keys()].filter((n) => n !== 13));
    const dead = readNdjson<{ reason: string; event: { message: string } }>(deadLetter);
    expect(dead.map((d) => [d.event.message, d.reason])).toEqual([['app seq=13', 'HTTP 400: cannot parse event']]);
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered, { reason: 'http_400' })).toBe(1);
    expect(await metricValue(harness.metrics.eventsLost, { reason: 'dead_lettered' })).toBe(1);
    const file = recordOutput('sinks/http-dead-letter', [...ndjsonReceived(receiver), ...dead.map((d) => d.event)]);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('bounds the dead-letter file at dead_letter.max_bytes and counts what did not fit as lost', async () => {
    const dir = tempDir();
    const receiver = await new TestReceiver(() => ({ status: 413 })).listen();
    const deadLetter = join(dir, 'dead.ndjson');
    const harness = await startSink(
      'http',
      { uri: `${receiver.url}/`, batch: { timeout: 10 }, dead_letter: { path: deadLetter, max_bytes: '8KiB' } },
      dir,
    );
    await harness.source.emit(makeEvents(20));
    expect(await waitFor(() => harness.source.acked === 20, 10_000)).toBe(true);
    const written = readNdjson(deadLetter).length;
    expect(statSync(deadLetter).size).toBeLessThanOrEqual(8 * 1024);
    expect(written).toBeGreaterThan(0);
    expect(await metricValue(harness.metrics.eventsLost, { reason: 'dead_letter_full' })).toBe(20 - written);
    expect(harness.logs.filter((l) => l.includes('dead-letter file is full'))).toHaveLength(1);
  });

  it('honours batch.max_events and batch.max_bytes together, splitting source batches larger than either', async () => {
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    const harness = await startSink(
      'http',
      { uri: `${receiver.url}/`, batch: { max_events: 100, max_bytes: '64KiB', timeout: 10 } },
      tempDir(),
    );
    // One source batch of 3,000 events and five of 400: both far above a request's limits.
    await harness.source.emit(makeEvents(3000));
    for (let b = 0; b < 5; b++) await harness.source.emit(makeEvents(400, 'app', { from: 3000 + b * 400 }));
    expect(await waitFor(() => harness.source.acked === 5000, 30_000)).toBe(true);
    for (const r of receiver.requests) {
      expect(lines(r).length).toBeLessThanOrEqual(100);
      expect(r.body.length).toBeLessThanOrEqual(64 * 1024);
    }
    // Each request was filled up to the first limit reached (~1.2 KB events make 64 KiB the tighter one here): every
    // request but the last is within one event of 64 KiB.
    const sizes = receiver.requests.map((r) => r.body.length);
    const largestEvent = Math.max(
      ...receiver.requests.flatMap((r) => lines(r).map((l) => JSON.stringify(l).length + 1)),
    );
    for (const size of sizes.slice(0, -1)) expect(size).toBeGreaterThan(64 * 1024 - largestEvent);
    expect(seqs(ndjsonReceived(receiver))).toEqual([...Array(5000).keys()]);
  });

  it('goes through the proxy named by HTTP_PROXY', async () => {
    const tunnels: string[] = [];
    // Plain-HTTP targets may be forwarded (absolute-form request) or tunnelled (CONNECT): the proxy does both.
    const proxy = createServer((req, res) => {
      tunnels.push(new URL(req.url ?? '').host);
      const upstream = request(req.url ?? '', { method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    proxy.on('connect', (req, client, head) => {
      tunnels.push(req.url ?? '');
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    process.env.HTTP_PROXY = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    delete process.env.NO_PROXY;
    try {
      const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
      const harness = await startSink('http', { uri: `${receiver.url}/via-proxy`, batch: { timeout: 10 } }, tempDir());
      await harness.source.emit(makeEvents(5));
      expect(await waitFor(() => harness.source.acked === 5, 10_000)).toBe(true);
      expect(tunnels.length).toBeGreaterThan(0);
      expect(new Set(tunnels)).toEqual(new Set([`127.0.0.1:${receiver.port}`]));
      const file = recordOutput('sinks/http-proxy', ndjsonReceived(receiver));
      expect(validateOcsf(file)?.failed ?? 0).toBe(0);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });
  it('keeps up to `concurrency` requests in flight', async () => {
    let current = 0;
    let most = 0;
    const receiver = await new TestReceiver(async () => {
      most = Math.max(most, ++current);
      await new Promise((r) => setTimeout(r, 150));
      current--;
      return { status: 200 };
    }).listen();
    const harness = await startSink(
      'http',
      { uri: `${receiver.url}/`, concurrency: 4, batch: { max_events: 10, timeout: 10 } },
      tempDir(),
    );
    for (let b = 0; b < 8; b++) await harness.source.emit(makeEvents(10, 'app', { from: b * 10 }));
    expect(await waitFor(() => harness.source.acked === 80, 10_000)).toBe(true);
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
    const events = ndjsonReceived(receiver);
    expect(new Set(seqs(events))).toEqual(new Set([...Array(80).keys()]));
    const file = recordOutput('sinks/http-concurrency', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it("sends the decode workers' bytes as they are, gzip at the configured level", async () => {
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    const harness = await startSink(
      'http',
      { uri: `${receiver.url}/ingest`, compression_level: 9, batch: { timeout: 50 } },
      tempDir(),
    );
    const plain = makeEvents(40);
    const sent = encodedLikeWorker(plain);
    await harness.source.emit(sent);
    expect(await waitFor(() => harness.source.acked === 40, 10_000)).toBe(true);
    expect(stillBytes(sent)).toBe(true);
    const req = receiver.requests[0]!;
    expect(req.headers['content-encoding']).toBe('gzip');
    expect(req.body.toString('utf8')).toBe(plain.map((e) => `${JSON.stringify(e.event)}\n`).join(''));
  });
});
