import type { Sink, SinkWriteResult } from '../../core/component.ts';
import { type Envelope, eventFact, Fact } from '../../core/envelope.ts';
import { type BodyBuffers, type ByteWriter, bodySize } from '../../delivery/framing.ts';
import { authorizationHeaders, HttpTransport } from '../../delivery/http.ts';
import { DeliveryError, errorForStatus, parseRetryAfter } from '../../delivery/outcome.ts';
import type { ElasticsearchSinkConfig } from './config.ts';

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string };
}

interface BulkAnswer {
  errors?: boolean;
  items?: Array<Record<string, BulkItem>>;
}

/** Bulk item statuses worth sending again: throttled or a shard briefly unavailable. */
function retryableItem(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `%Y.%m.%d`-style index names from an event time (UTC). */
export function indexName(template: string, time: number): string {
  const d = new Date(time);
  const pad = (n: number) => String(n).padStart(2, '0');
  return template.replace(/%([YmdH])/g, (_, c: string) =>
    c === 'Y'
      ? String(d.getUTCFullYear())
      : c === 'm'
        ? pad(d.getUTCMonth() + 1)
        : c === 'd'
          ? pad(d.getUTCDate())
          : pad(d.getUTCHours()),
  );
}

/**
 * Elasticsearch / OpenSearch _bulk. The answer is read per item: accepted items are done, items refused for now
 * (429, 5xx) are sent again, items refused for good (a mapping conflict, a bad document) are dead-lettered with the
 * cluster's reason.
 */
export class ElasticsearchSink implements Sink {
  private transport: HttpTransport | undefined;
  private url = '';

  constructor(private readonly config: ElasticsearchSinkConfig) {}

  async start(): Promise<void> {
    const { auth, endpoint, pipeline } = this.config;
    this.transport = new HttpTransport({
      timeout: this.config.timeout,
      compression: this.config.compression,
      compressionLevel: this.config.compression_level,
      tls: this.config.tls,
      headers: { 'content-type': 'application/x-ndjson', ...authorizationHeaders(auth) },
    });
    const query = new URLSearchParams({ filter_path: 'errors,items.*.status,items.*.error' });
    if (pipeline) query.set('pipeline', pipeline);
    this.url = `${endpoint.replace(/\/+$/, '')}/_bulk?${query}`;
  }

  /** The _bulk body: an action line and the event's JSON bytes per event (a data stream's documents get their
   * `@timestamp` spliced in front of the event's own fields). */
  encode(events: Envelope[], bodies: BodyBuffers): ByteWriter {
    const out = bodies.writer(bodySize(events, 96));
    if (this.config.mode === 'data_stream') {
      const { type, dataset, namespace } = this.config.data_stream;
      const action = `{"create":{"_index":${JSON.stringify(`${type}-${dataset}-${namespace}`)}}}\n{"@timestamp":"`;
      for (const e of events) {
        out.text(action);
        out.text(new Date(eventFact(e, Fact.time)).toISOString());
        out.text('",');
        out.event(e, 1);
        out.byte(10);
      }
      return out;
    }
    // One action line per index (per hour at most: the index name takes %Y %m %d %H of the event time).
    let hour = Number.NaN;
    let action = '';
    for (const e of events) {
      const time = eventFact(e, Fact.time);
      const h = Math.floor(time / 3_600_000);
      if (h !== hour) {
        hour = h;
        action = `{"index":{"_index":${JSON.stringify(indexName(this.config.index, time))}}}\n`;
      }
      out.text(action);
      out.event(e);
      out.byte(10);
    }
    return out;
  }

  async write(events: Envelope[]): Promise<SinkWriteResult | undefined> {
    const res = await this.transport!.send('POST', this.url, this.encode(events, this.transport!.bodies));
    const error = errorForStatus(res.status, res.headers, res.body);
    if (error) throw error;
    const answer = JSON.parse(res.body) as BulkAnswer;
    if (!answer.errors) return;
    if (answer.items?.length !== events.length)
      throw new DeliveryError(
        `bulk answer lists ${answer.items?.length ?? 0} items for ${events.length} documents`,
        'retry',
      );
    const rejected: Array<{ index: number; reason: string }> = [];
    const retry: number[] = [];
    let retryReason = '';
    (answer.items ?? []).forEach((entry, index) => {
      const item = Object.values(entry)[0];
      if (!item || (item.status >= 200 && item.status < 300)) return;
      const reason = `${item.error?.type ?? `status_${item.status}`}: ${item.error?.reason ?? ''}`.trim();
      if (retryableItem(item.status)) {
        retry.push(index);
        retryReason ||= reason;
      } else rejected.push({ index, reason });
    });
    return {
      rejected,
      ...(retry.length > 0
        ? { retry: { indices: retry, reason: retryReason, retryAfterMs: parseRetryAfter(res.headers['retry-after']) } }
        : {}),
    };
  }

  async stop(): Promise<void> {
    await this.transport?.close();
  }
}
