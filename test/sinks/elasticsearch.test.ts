// The elasticsearch sink against a _bulk endpoint that answers per item like Elasticsearch/OpenSearch: some items
// refused for good (mapper_parsing_exception), some refused for now (429 es_rejected_execution_exception).
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

interface Action {
  action: 'index' | 'create';
  index: string;
  doc: Record<string, unknown>;
}

/** A bulk API: documents whose message matches `invalid` are refused (400), each `throttleOnce` match gets one 429. */
class FakeBulk {
  readonly stored: Action[] = [];
  readonly bulkRequests: Action[][] = [];
  readonly urls: string[] = [];
  authorization: string | undefined;
  private readonly throttled = new Set<string>();

  constructor(
    private readonly invalid: RegExp,
    private readonly throttleOnce: RegExp,
  ) {}

  handle = (req: ReceivedRequest): Reply => {
    this.urls.push(req.url);
    this.authorization = req.headers.authorization;
    const lines = req.body.toString('utf8').split('\n').filter(Boolean);
    const actions: Action[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const meta = JSON.parse(lines[i]!) as Record<'index' | 'create', { _index: string }>;
      const action = 'create' in meta ? 'create' : 'index';
      actions.push({ action, index: meta[action]._index, doc: JSON.parse(lines[i + 1]!) as Record<string, unknown> });
    }
    this.bulkRequests.push(actions);
    const items = actions.map((a) => {
      const message = String(a.doc.message);
      let result: Record<string, unknown> = { _index: a.index, status: 201, result: 'created' };
      if (this.invalid.test(message)) {
        result = {
          _index: a.index,
          status: 400,
          error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [unmapped.fields]' },
        };
      } else if (this.throttleOnce.test(message) && !this.throttled.has(message)) {
        this.throttled.add(message);
        result = {
          _index: a.index,
          status: 429,
          error: { type: 'es_rejected_execution_exception', reason: 'rejected execution of coordinating operation' },
        };
      } else this.stored.push(a);
      return { [a.action]: result };
    });
    const errors = items.some((i) => (Object.values(i)[0] as { status: number }).status >= 300);
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ took: 3, errors, items }),
    };
  };
}

describe('elasticsearch sink', () => {
  it('resends only the throttled items, dead-letters the refused ones with the reason, into dated indices', async () => {
    const bulk = new FakeBulk(/seq=(4|11)$/, /seq=\d*[27]$/);
    const receiver = await new TestReceiver(bulk.handle).listen();
    const dir = tempDir();
    const harness = await startSink(
      'elasticsearch',
      {
        endpoint: receiver.url,
        index: 'ocsf-%Y.%m.%d',
        auth: { strategy: 'api_key', api_key: 'aWQ6c2VjcmV0' },
        batch: { timeout: 20 },
        retry: { initial_backoff: 20, max_backoff: 50 },
      },
      dir,
    );
    // 20 events one second apart across midnight UTC: two daily indices.
    await harness.source.emit(makeEvents(20, 'web', { start: Date.UTC(2026, 10, 23, 23, 59, 50) }));
    expect(await waitFor(() => harness.source.acked === 20, 10_000)).toBe(true);
    expect(bulk.authorization).toBe('ApiKey aWQ6c2VjcmV0');
    expect(new URL(bulk.urls[0]!, 'http://x').pathname).toBe('/_bulk');
    // Second request: exactly the throttled items (seq 2, 7, 12, 17), nothing already stored.
    expect(bulk.bulkRequests).toHaveLength(2);
    expect(seqs(bulk.bulkRequests[1]!.map((a) => a.doc))).toEqual([2, 7, 12, 17]);
    const stored = seqs(bulk.stored.map((a) => a.doc));
    expect(new Set(stored)).toEqual(new Set([...Array(20).keys()].filter((n) => n !== 4 && n !== 11)));
    expect(stored).toHaveLength(18);
    for (const a of bulk.stored) {
      const n = seqs([a.doc])[0]!;
      expect(a.index).toBe(n < 10 ? 'ocsf-2026.11.23' : 'ocsf-2026.11.24');
    }
    const dead = readNdjson<{ reason: string; event: { message: string } }>(
      join(dir, 'state', 'out', 'dead-letter.ndjson'),
    );
    expect(dead.map((d) => d.event.message)).toEqual(['web seq=4', 'web seq=11']);
    expect(dead[0]!.reason).toBe('mapper_parsing_exception: failed to parse field [unmapped.fields]');
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered, { reason: 'mapper_parsing_exception' })).toBe(2);
    expect(await metricValue(harness.metrics.sinkEventsRetried, { component: 'out' })).toBe(4);
    const file = recordOutput('sinks/elasticsearch-index', [
      ...bulk.stored.map((a) => a.doc),
      ...dead.map((d) => d.event),
    ]);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('writes to a data stream with create actions and @timestamp, with basic auth', async () => {
    const bulk = new FakeBulk(/^$/, /^$/);
    const receiver = await new TestReceiver(bulk.handle).listen();
    const harness = await startSink(
      'elasticsearch',
      {
        endpoint: receiver.url,
        mode: 'data_stream',
        data_stream: { dataset: 'ocsf.container', namespace: 'prod' },
        auth: { strategy: 'basic', user: 'outrider', password: 'pw' },
        batch: { timeout: 20 },
      },
      tempDir(),
    );
    const sent = makeEvents(6, 'web');
    await harness.source.emit(sent);
    expect(await waitFor(() => harness.source.acked === 6, 10_000)).toBe(true);
    expect(bulk.authorization).toBe(`Basic ${Buffer.from('outrider:pw').toString('base64')}`);
    expect(bulk.stored.map((a) => [a.action, a.index])).toEqual(Array(6).fill(['create', 'logs-ocsf.container-prod']));
    const docs = bulk.stored.map(({ doc }) => {
      const { '@timestamp': ts, ...event } = doc;
      expect(ts).toBe(new Date(event.time as number).toISOString());
      return event;
    });
    expect(docs).toEqual(JSON.parse(JSON.stringify(sent.map((e) => e.event))));
    const file = recordOutput('sinks/elasticsearch-data-stream', docs);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it("frames the decode workers' bytes as they are: index and data stream bodies, no event decoded", async () => {
    for (const mode of ['index', 'data_stream'] as const) {
      const bulk = new FakeBulk(/^$/, /^$/);
      const receiver = await new TestReceiver(bulk.handle).listen();
      const harness = await startSink(
        'elasticsearch',
        { endpoint: receiver.url, mode, batch: { timeout: 20 } },
        tempDir(),
      );
      // Across midnight: two daily indices.
      const plain = makeEvents(20, 'web', { start: Date.UTC(2026, 10, 23, 23, 59, 50) });
      const sent = encodedLikeWorker(plain);
      await harness.source.emit(sent);
      expect(await waitFor(() => harness.source.acked === 20, 10_000)).toBe(true);
      expect(stillBytes(sent)).toBe(true);
      const docs = bulk.stored.map(({ doc }) => {
        const { '@timestamp': ts, ...event } = doc;
        if (mode === 'data_stream') expect(ts).toBe(new Date(event.time as number).toISOString());
        return event;
      });
      expect(docs).toEqual(JSON.parse(JSON.stringify(plain.map((e) => e.event))));
      expect(bulk.stored.map((a) => a.index)).toEqual(
        mode === 'index'
          ? [...Array(10).fill('ocsf-2026.11.23'), ...Array(10).fill('ocsf-2026.11.24')]
          : Array(20).fill('logs-ocsf-default'),
      );
    }
  });
});
