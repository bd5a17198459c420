import type { Sink, SinkWriteResult } from '../../core/component.ts';
import { type Envelope, encodeEvent } from '../../core/envelope.ts';
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
      tls: this.config.tls,
      headers: { 'content-type': 'application/x-ndjson', ...authorizationHeaders(auth) },
    });
    const query = new URLSearchParams({ filter_path: 'errors,items.*.status,items.*.error' });
    if (pipeline) query.set('pipeline', pipeline);
    this.url = `${endpoint.replace(/\/+$/, '')}/_bulk?${query}`;
  }

  encode(events: Envelope[]): string {
    let body = '';
    if (this.config.mode === 'data_stream') {
      const { type, dataset, namespace } = this.config.data_stream;
      const action = `{"create":{"_index":${JSON.stringify(`${type}-${dataset}-${namespace}`)}}}\n`;
      for (const e of events) {
        body += `${action}{"@timestamp":"${new Date(e.event.time).toISOString()}",${encodeEvent(e).slice(1)}\n`;
      }
      return body;
    }
    for (const e of events) {
      body += `{"index":{"_index":${JSON.stringify(indexName(this.config.index, e.event.time))}}}\n${encodeEvent(e)}\n`;
    }
    return body;
  }

  async write(events: Envelope[]): Promise<SinkWriteResult | undefined> {
    const res = await this.transport!.send('POST', this.url, this.encode(events));
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
