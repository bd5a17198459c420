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
  id: string | undefined;
  doc: Record<string, unknown>;
}

/**
 * A bulk API: documents whose message matches `invalid` are refused (400), each `throttleOnce` match gets one 429,
 * each `forbiddenOnce` match one 403 (a security_exception: the destination's refusal, not the document's). Documents
 * are kept by _id: `index` overwrites, `create` of an existing _id answers 409.
 */
class FakeBulk {
  readonly stored: Action[] = [];
  readonly bulkRequests: Action[][] = [];
  readonly urls: string[] = [];
  authorization: string | undefined;
  conflicts = 0;
  private readonly throttled = new Set<string>();
  private readonly forbidden = new Set<string>();

  constructor(
    private readonly invalid: RegExp,
    private readonly throttleOnce: RegExp,
    private readonly forbiddenOnce: RegExp = /^$/,
  ) {}

  handle = (req: ReceivedRequest): Reply => {
    this.urls.push(req.url);
    this.authorization = req.headers.authorization;
    const lines = req.body.toString('utf8').split('\n').filter(Boolean);
    const actions: Action[] = [];
    for (let i = 0; i < lines.length; i += 2) {
      const meta = JSON.parse(lines[i]!) as Record<'index' | 'create', { _index: string; _id?: string }>;
      const action = 'create' in meta ? 'create' : 'index';
      actions.push({
        action,
        index: meta[action]._index,
        id: meta[action]._id,
        doc: JSON.parse(lines[i + 1]!) as Record<string, unknown>,
      });
    }
    this.bulkRequests.push(actions);
    const items = actions.map((a) => {
      const message = String(a.doc.message);
      let result: Record<string, unknown> = { _index: a.index, status: 201, result: 'created' };
      const existing = a.id === undefined ? -1 : this.stored.findIndex((d) => d.id === a.id && d.index === a.index);
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
      } else if (this.forbiddenOnce.test(message) && !this.forbidden.has(message)) {
        this.forbidden.add(message);
        result = {
          _index: a.index,
          status: 403,
          error: { type: 'security_exception', reason: 'action [indices:data/write/bulk[s]] is unauthorized' },
        };
      } else if (existing >= 0 && a.action === 'create') {
        this.conflicts++;
        result = {
          _index: a.index,
          status: 409,
          error: { type: 'version_conflict_engine_exception', reason: `[${a.id}]: version conflict` },
        };
      } else if (existing >= 0) {
        this.stored[existing] = a;
        result = { _index: a.index, status: 200, result: 'updated' };
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

/** The OCSF event of a stored document: without the @timestamp Outrider adds. */
function eventOf(doc: Record<string, unknown>): Record<string, unknown> {
  const { '@timestamp': ts, ...event } = doc;
  expect(ts).toBe(new Date(event.time as number).toISOString());
  return event;
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
      expect(a.id).toMatch(/^[0-9a-f]{32}$/);
      expect(a.id).toBe((eventOf(a.doc).metadata as { uid: string }).uid);
    }
    const dead = readNdjson<{ reason: string; event: { message: string } }>(
      join(dir, 'state', 'out', 'dead-letter.ndjson'),
    );
    expect(dead.map((d) => d.event.message)).toEqual(['web seq=4', 'web seq=11']);
    expect(dead[0]!.reason).toBe('mapper_parsing_exception: failed to parse field [unmapped.fields]');
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered, { reason: 'mapper_parsing_exception' })).toBe(2);
    expect(await metricValue(harness.metrics.sinkEventsRetried, { component: 'out' })).toBe(4);
    const file = recordOutput('sinks/elasticsearch-index', [
      ...bulk.stored.map((a) => eventOf(a.doc)),
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
    const docs = bulk.stored.map(({ doc }) => eventOf(doc));
    expect(docs).toEqual(JSON.parse(JSON.stringify(sent.map((e) => e.event))));
    const file = recordOutput('sinks/elasticsearch-data-stream', docs);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('replays without duplicates: the same events get the same _id, a data stream’s 409 counts as delivered', async () => {
    const bulk = new FakeBulk(/^$/, /^$/);
    const receiver = await new TestReceiver(bulk.handle).listen();
    const config = { endpoint: receiver.url, mode: 'data_stream', batch: { timeout: 20 } };
    let harness = await startSink('elasticsearch', config, tempDir());
    await harness.source.emit(makeEvents(30, 'web'));
    expect(await waitFor(() => harness.source.acked === 30, 10_000)).toBe(true);
    await harness.stop();
    // The same input read again from scratch (a crash before the checkpoint, a replay): built anew, same identity.
    harness = await startSink('elasticsearch', config, tempDir());
    await harness.source.emit(makeEvents(40, 'web'));
    expect(await waitFor(() => harness.source.acked === 40, 10_000)).toBe(true);
    expect(bulk.stored).toHaveLength(40);
    expect(new Set(bulk.stored.map((a) => a.id)).size).toBe(40);
    expect(bulk.conflicts).toBe(30);
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered)).toBe(0);
    expect(await metricValue(harness.metrics.sinkEventsAcknowledged)).toBe(40);
  });

  it('sends again, and is not ready meanwhile, items refused with 403 by the cluster’s security', async () => {
    const bulk = new FakeBulk(/^$/, /^$/, /seq=[0-4]$/);
    const receiver = await new TestReceiver(bulk.handle).listen();
    const dir = tempDir();
    const harness = await startSink(
      'elasticsearch',
      { endpoint: receiver.url, batch: { timeout: 20 }, retry: { initial_backoff: 300, max_backoff: 300 } },
      dir,
    );
    await harness.source.emit(makeEvents(10, 'web'));
    expect(await waitFor(() => harness.pipeline.readiness().components.out?.healthy === false, 5000)).toBe(true);
    expect(harness.pipeline.readiness().components.out?.reason).toMatch(/security_exception/);
    expect(await waitFor(() => harness.source.acked === 10, 10_000)).toBe(true);
    expect(new Set(seqs(bulk.stored.map((a) => a.doc)))).toEqual(new Set([...Array(10).keys()]));
    expect(await metricValue(harness.metrics.sinkEventsDeadLettered)).toBe(0);
    expect(await waitFor(() => harness.pipeline.readiness().ready, 5000)).toBe(true);
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
      // The _id is the event's metadata.uid, read from the worker's facts.
      expect(bulk.stored.map((a) => a.id)).toEqual(plain.map((e) => e.event.metadata.uid));
      const docs = bulk.stored.map(({ doc }) => {
        const { '@timestamp': ts, ...event } = doc;
        expect(ts).toBe(new Date(event.time as number).toISOString());
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
