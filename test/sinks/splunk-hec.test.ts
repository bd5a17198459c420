// The splunk_hec sink against an HTTP Event Collector implementing the documented answers: token checks (codes 2–4),
// "Server is busy" (code 9, 503), "Invalid data format" with invalid-event-number (code 6), channels and indexer
// acknowledgement (/services/collector/ack).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, tempDir, waitFor } from '../support/outrider.ts';
import {
  encodedLikeWorker,
  makeEvents,
  metricValue,
  type ReceivedRequest,
  type Reply,
  seqs,
  startSink,
  stillBytes,
  TestReceiver,
} from './support.ts';

const TOKEN = '11111111-2222-3333-4444-555555555555';

interface HecEvent {
  time: number;
  host: string;
  source: string;
  sourcetype: string;
  index?: string;
  event: Record<string, unknown>;
}

/** A small HEC: indexes valid events, answers acks once "indexed" (after indexDelayMs). */
class FakeHec {
  readonly indexed: HecEvent[] = [];
  readonly ackPolls: ReceivedRequest[] = [];
  busyAnswers = 0;
  indexDelayMs = 0;
  /** Events whose message matches are refused as invalid (code 6). */
  invalid: RegExp | undefined;
  channels = new Set<string>();
  /** The token HEC accepts (a test rotates it). */
  token = TOKEN;
  /** Most batches sent whose acknowledgement the sender had not yet seen. */
  maxOutstanding = 0;
  private readonly confirmed = new Set<number>();
  private nextAck = 0;
  private readonly ackReadyAt = new Map<number, number>();

  handle = (req: ReceivedRequest): Reply => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
      status,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const auth = req.headers.authorization;
    if (!auth) return json(401, { text: 'Token is required', code: 2 });
    if (auth !== `Splunk ${this.token}`) return json(403, { text: 'Invalid token', code: 4 });
    const url = new URL(req.url, 'http://hec');
    if (url.pathname === '/services/collector/ack') {
      this.ackPolls.push(req);
      const { acks } = JSON.parse(req.body.toString('utf8')) as { acks: number[] };
      const now = Date.now();
      const answer = Object.fromEntries(acks.map((id) => [id, (this.ackReadyAt.get(id) ?? Infinity) <= now]));
      for (const [id, done] of Object.entries(answer)) if (done) this.confirmed.add(Number(id));
      return json(200, { acks: answer });
    }
    if (url.pathname !== '/services/collector/event') return json(404, { text: 'Not found', code: 404 });
    if (this.busyAnswers > 0) {
      this.busyAnswers--;
      return json(503, { text: 'Server is busy', code: 9 }, { 'retry-after': '1' });
    }
    const channel = req.headers['x-splunk-request-channel'];
    if (typeof channel !== 'string') return json(400, { text: 'Data channel is missing', code: 10 });
    this.channels.add(channel);
    const events = req.body
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as HecEvent);
    const bad = events.findIndex((e) => !e.event || this.invalid?.test(String(e.event.message)));
    // Events before the invalid one are indexed, as HEC does.
    this.indexed.push(...events.slice(0, bad === -1 ? events.length : bad));
    if (bad !== -1) return json(400, { text: 'Invalid data format', code: 6, 'invalid-event-number': bad });
    const ackId = this.nextAck++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.nextAck - this.confirmed.size);
    this.ackReadyAt.set(ackId, Date.now() + this.indexDelayMs);
    return json(200, { text: 'Success', code: 0, ackId });
  };
}

describe('splunk_hec sink', () => {
  it('waits for indexer acknowledgement before acknowledging, and backs off when HEC is busy', async () => {
    const hec = new FakeHec();
    hec.busyAnswers = 1;
    hec.indexDelayMs = 800;
    const receiver = await new TestReceiver(hec.handle).listen();
    const harness = await startSink(
      'splunk_hec',
      {
        endpoint: receiver.url,
        token: TOKEN,
        sourcetype: 'ocsf:container',
        index: 'security',
        indexer_acknowledgement: { enabled: true, poll_interval: 100 },
        batch: { timeout: 20 },
        retry: { initial_backoff: 50, max_backoff: 100 },
      },
      tempDir(),
    );
    const started = Date.now();
    await harness.source.emit(makeEvents(25, 'web'));
    expect(await waitFor(() => hec.indexed.length === 25, 10_000)).toBe(true);
    // Indexed but not yet acknowledged by the indexer: the source must still hold the events.
    expect(harness.source.acked).toBe(0);
    expect(await waitFor(() => harness.source.acked === 25, 10_000)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000 + 800);
    expect(hec.ackPolls.length).toBeGreaterThan(1);
    expect([...hec.channels]).toHaveLength(1);
    expect(new URL(hec.ackPolls[0]!.url, 'http://x').searchParams.get('channel')).toBe([...hec.channels][0]);
    const first = hec.indexed[0]!;
    expect(first).toMatchObject({
      host: 'node-1',
      source: 'outrider:web',
      sourcetype: 'ocsf:container',
      index: 'security',
    });
    expect(first.time).toBe((first.event.time as number) / 1000);
    expect(seqs(hec.indexed.map((e) => e.event))).toEqual([...Array(25).keys()]);
    expect(harness.logs.join('\n')).not.toContain(TOKEN);
    expect(await metricValue(harness.metrics.sinkEventsAcknowledged, { component: 'out' })).toBe(25);
    const file = recordOutput(
      'sinks/splunk-hec-acks',
      hec.indexed.map((e) => e.event),
    );
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('dead-letters the event HEC names as invalid and sends the others again', async () => {
    const hec = new FakeHec();
    hec.invalid = /seq=3$/;
    const receiver = await new TestReceiver(hec.handle).listen();
    const dir = tempDir();
    const harness = await startSink(
      'splunk_hec',
      { endpoint: receiver.url, token: TOKEN, batch: { timeout: 20 }, retry: { initial_backoff: 20, max_backoff: 50 } },
      dir,
    );
    await harness.source.emit(makeEvents(10, 'web'));
    expect(await waitFor(() => harness.source.acked === 10, 10_000)).toBe(true);
    expect(new Set(seqs(hec.indexed.map((e) => e.event)))).toEqual(new Set([0, 1, 2, 4, 5, 6, 7, 8, 9]));
    const dead = readNdjson<{ reason: string; event: { message: string } }>(
      join(dir, 'state', 'out', 'dead-letter.ndjson'),
    );
    expect(dead.map((d) => [d.event.message, d.reason])).toEqual([['web seq=3', 'HEC code 6: Invalid data format']]);
    const file = recordOutput('sinks/splunk-hec-invalid', [...hec.indexed.map((e) => e.event), dead[0]!.event]);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('keeps events refused for an invalid token (code 4) and delivers them once the token is accepted again', async () => {
    const hec = new FakeHec();
    hec.token = 'rotated-away';
    const receiver = await new TestReceiver(hec.handle).listen();
    const dir = tempDir();
    const harness = await startSink(
      'splunk_hec',
      {
        endpoint: receiver.url,
        token: TOKEN,
        batch: { timeout: 20 },
        retry: { initial_backoff: 20, max_backoff: 100 },
      },
      dir,
    );
    await harness.source.emit(makeEvents(3, 'web'));
    expect(await waitFor(() => harness.pipeline.readiness().components.out?.healthy === false, 5000)).toBe(true);
    expect(harness.pipeline.readiness().components.out?.reason).toMatch(/HEC code 4: Invalid token/);
    await new Promise((r) => setTimeout(r, 500));
    expect(harness.source.acked).toBe(0);
    hec.token = TOKEN;
    expect(await waitFor(() => harness.source.acked === 3, 10_000)).toBe(true);
    expect(seqs(hec.indexed.map((e) => e.event))).toEqual([0, 1, 2]);
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered)).toBe(0);
    expect(await metricValue(harness.metrics.componentErrors, { reason: 'destination' })).toBeGreaterThan(1);
    expect(await waitFor(() => harness.pipeline.readiness().ready, 5000)).toBe(true);
    const file = recordOutput(
      'sinks/splunk-hec-token',
      hec.indexed.map((e) => e.event),
    );
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('keeps several batches waiting for indexer acknowledgement at once with concurrency', async () => {
    const hec = new FakeHec();
    hec.indexDelayMs = 400;
    const receiver = await new TestReceiver(hec.handle).listen();
    const harness = await startSink(
      'splunk_hec',
      {
        endpoint: receiver.url,
        token: TOKEN,
        concurrency: 4,
        indexer_acknowledgement: { enabled: true, poll_interval: 100 },
        batch: { max_events: 10, timeout: 10 },
      },
      tempDir(),
    );
    for (let b = 0; b < 8; b++) await harness.source.emit(makeEvents(10, 'web', { from: b * 10 }));
    expect(await waitFor(() => harness.source.acked === 80, 10_000)).toBe(true);
    // Batches were sent while earlier ones still waited for their acknowledgement.
    expect(hec.maxOutstanding).toBeGreaterThan(1);
    expect(hec.maxOutstanding).toBeLessThanOrEqual(4);
    expect(new Set(seqs(hec.indexed.map((e) => e.event)))).toEqual(new Set([...Array(80).keys()]));
    const file = recordOutput(
      'sinks/splunk-hec-concurrency',
      hec.indexed.map((e) => e.event),
    );
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it("wraps the decode workers' bytes in HEC envelopes as they are: time and host from their facts, no event decoded", async () => {
    const hec = new FakeHec();
    const receiver = await new TestReceiver(hec.handle).listen();
    const harness = await startSink(
      'splunk_hec',
      { endpoint: receiver.url, token: TOKEN, index: 'ocsf', batch: { timeout: 20 } },
      tempDir(),
    );
    const plain = makeEvents(6, 'web');
    // One event names another host (an alert about a peer): its envelope says so.
    (plain[2]!.event.device as { hostname: string }).hostname = 'peer-9';
    const sent = encodedLikeWorker(plain);
    await harness.source.emit(sent);
    expect(await waitFor(() => harness.source.acked === 6, 10_000)).toBe(true);
    expect(stillBytes(sent)).toBe(true);
    expect(hec.indexed.map((e) => e.event)).toEqual(JSON.parse(JSON.stringify(plain.map((e) => e.event))));
    expect(hec.indexed.map((e) => [e.time, e.host, e.source, e.sourcetype, e.index])).toEqual(
      plain.map((e, i) => [e.event.time / 1000, i === 2 ? 'peer-9' : 'node-1', 'outrider:web', 'ocsf', 'ocsf']),
    );
  });
});
