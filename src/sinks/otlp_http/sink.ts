import type { ComponentContext, Sink } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { HttpTransport } from '../../delivery/http.ts';
import { errorForStatus } from '../../delivery/outcome.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { OtlpHttpSinkConfig } from './config.ts';
import { OtlpLogsEncoder, partialSuccess } from './encoder.ts';

/**
 * OTLP/HTTP logs (protobuf or JSON). A partial success (the receiver took the request but refused N records) cannot be
 * retried per the OTLP spec and does not say which records: the count is logged and added to
 * outrider_sink_events_dead_lettered_total and outrider_events_lost_total{reason="otlp_partial_success"}.
 */
export class OtlpHttpSink implements Sink {
  private transport: HttpTransport | undefined;
  private encoder: OtlpLogsEncoder | undefined;
  private url = '';
  private ctx!: { name: string; logger: Logger; metrics: Metrics };

  constructor(private readonly config: OtlpHttpSinkConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    this.ctx = ctx;
    this.encoder = new OtlpLogsEncoder(ctx.hostname, this.config.encoding);
    const url = new URL(this.config.endpoint);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/logs';
    this.url = url.toString();
    this.transport = new HttpTransport({
      timeout: this.config.timeout,
      compression: this.config.compression,
      compressionLevel: this.config.compression_level,
      tls: this.config.tls,
      headers: {
        'content-type': this.config.encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
        ...this.config.headers,
      },
    });
  }

  async write(events: Envelope[]): Promise<void> {
    const res = await this.transport!.send('POST', this.url, this.encoder!.encode(events, this.transport!.bodies));
    const error = errorForStatus(res.status, res.headers, res.body);
    if (error) throw error;
    let rejected = 0;
    let message = '';
    try {
      const answer = partialSuccess(res.raw, this.config.encoding);
      rejected = answer?.rejected ?? 0;
      message = answer?.message ?? '';
    } catch {
      return;
    }
    if (rejected > 0) {
      const labels = { component: this.ctx.name, reason: 'otlp_partial_success' };
      this.ctx.metrics.sinkEventsDeadLettered.inc(labels, rejected);
      this.ctx.metrics.eventsLost.inc(labels, rejected);
      this.ctx.logger.error('OTLP receiver rejected log records (partial success; not retried per the OTLP spec)', {
        rejected,
        of: events.length,
        error_message: message,
      });
    }
  }

  async stop(): Promise<void> {
    await this.transport?.close();
  }
}
