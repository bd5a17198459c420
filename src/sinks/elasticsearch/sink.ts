import type { Sink, SinkWriteResult } from '../../core/component.ts';
import { type Envelope, eventFact, eventUidOf, Fact } from '../../core/envelope.ts';
import { type BodyBuffers, type ByteWriter, bodySize } from '../../delivery/framing.ts';
import { authorizationHeaders, HttpTransport } from '../../delivery/http.ts';
import {
  DeliveryError,
  type DeliveryErrorKind,
  errorForStatus,
  kindOfStatus,
  parseRetryAfter,
} from '../../delivery/outcome.ts';
import type { ElasticsearchSinkConfig } from './config.ts';

interface BulkItem {
  status: number;
  error?: { type?: string; reason?: string };
}

interface BulkAnswer {
  errors?: boolean;
  items?: Array<Record<string, BulkItem>>;
}

/** What a bulk item's status says: delivered (a `create` refused with 409 because the document is there already: a
 * replay), sent again (throttled, a shard unavailable, or the destination's own refusal: credentials, a missing
 * index), or refused for its content (a mapping error: dead-lettered). */
export function classifyItem(action: 'index' | 'create', status: number): 'delivered' | DeliveryErrorKind {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 409 && action === 'create') return 'delivered';
  const kind = kindOfStatus(status);
  // A bulk item's 400 is about that document alone: no split can help, it is refused for its content.
  return kind === 'too_large' ? 'invalid' : kind;
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
 * Elasticsearch / OpenSearch _bulk. The answer is read per item: accepted items are done (and, for a data stream,
 * a 409 for a document already there), items refused for now (429, 5xx) or by the destination itself (401, 403,
 * 404) are sent again, items refused for their content (a mapping conflict, a bad document) are dead-lettered with
 * the cluster's reason.
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

  /**
   * The bulk body, framed around the events' JSON bytes: per event an action naming its index and, as `_id`, its
   * `metadata.uid` (so that an event sent twice is one document: `index` overwrites it, a data stream's `create`
   * answers 409), then the document: `@timestamp` (the event time in ISO 8601, for Kibana and OpenSearch
   * Dashboards) spliced in front of the event's own fields.
   */
  encode(events: Envelope[], bodies: BodyBuffers): ByteWriter {
    const out = bodies.writer(bodySize(events, 160));
    const stream = this.config.mode === 'data_stream';
    const { type, dataset, namespace } = this.config.data_stream;
    const streamIndex = `{"create":{"_index":${JSON.stringify(`${type}-${dataset}-${namespace}`)}`;
    // One index name per hour at most (the name takes %Y %m %d %H of the event time).
    let hour = Number.NaN;
    let action = streamIndex;
    for (const e of events) {
      const time = eventFact(e, Fact.time);
      if (!stream) {
        const h = Math.floor(time / 3_600_000);
        if (h !== hour) {
          hour = h;
          action = `{"index":{"_index":${JSON.stringify(indexName(this.config.index, time))}`;
        }
      }
      out.text(action);
      const uid = eventUidOf(e);
      if (uid !== undefined) {
        out.text(',"_id":');
        out.text(JSON.stringify(uid));
      }
      out.text('}}\n{"@timestamp":"');
      out.text(new Date(time).toISOString());
      out.text('",');
      out.event(e, 1);
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
        'transient',
      );
    const rejected: Array<{ index: number; reason: string }> = [];
    const retry: number[] = [];
    let retryReason = '';
    const action = this.config.mode === 'data_stream' ? 'create' : 'index';
    let destination = false;
    (answer.items ?? []).forEach((entry, index) => {
      const item = Object.values(entry)[0];
      const outcome = item ? classifyItem(action, item.status) : 'delivered';
      if (outcome === 'delivered') return;
      const reason = `${item!.error?.type ?? `status_${item!.status}`}: ${item!.error?.reason ?? ''}`.trim();
      if (outcome === 'invalid') {
        rejected.push({ index, reason });
        return;
      }
      retry.push(index);
      destination ||= outcome === 'destination';
      retryReason ||= reason;
    });
    return {
      rejected,
      ...(retry.length > 0
        ? {
            retry: {
              indices: retry,
              reason: retryReason,
              retryAfterMs: parseRetryAfter(res.headers['retry-after']),
              destination,
            },
          }
        : {}),
    };
  }

  async stop(): Promise<void> {
    await this.transport?.close();
  }
}
