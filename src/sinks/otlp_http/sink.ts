import type { ComponentContext, Sink } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { lazyModule } from '../../core/lazy-module.ts';
import { HttpTransport } from '../../delivery/http.ts';
import { errorForStatus } from '../../delivery/outcome.ts';
import type { Logger } from '../../observability/logger.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { OtlpHttpSinkConfig } from './config.ts';
import { LogRecordBuilder } from './encoder.ts';

const otlpTransformer = lazyModule<typeof import('@opentelemetry/otlp-transformer')>('@opentelemetry/otlp-transformer');

/**
 * OTLP/HTTP logs (protobuf or JSON). A partial success (the receiver took the request but refused N records) cannot be
 * retried per the OTLP spec and does not say which records: the count is logged and added to
 * outrider_sink_events_dead_lettered_total and outrider_events_lost_total{reason="otlp_partial_success"}.
 */
export class OtlpHttpSink implements Sink {
  private transport: HttpTransport | undefined;
  private builder: LogRecordBuilder | undefined;
  private url = '';
  private ctx!: { name: string; logger: Logger; metrics: Metrics };

  constructor(private readonly config: OtlpHttpSinkConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    this.ctx = ctx;
    this.builder = new LogRecordBuilder(ctx.hostname);
    const url = new URL(this.config.endpoint);
    if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/logs';
    this.url = url.toString();
    this.transport = new HttpTransport({
      timeout: this.config.timeout,
      compression: this.config.compression,
      tls: this.config.tls,
      headers: {
        'content-type': this.config.encoding === 'protobuf' ? 'application/x-protobuf' : 'application/json',
        ...this.config.headers,
      },
    });
  }

  private get serializer() {
    const { ProtobufLogsSerializer, JsonLogsSerializer } = otlpTransformer();
    return this.config.encoding === 'protobuf' ? ProtobufLogsSerializer : JsonLogsSerializer;
  }

  async write(events: Envelope[]): Promise<void> {
    const body = this.serializer.serializeRequest(this.builder!.build(events));
    if (!body) throw new Error('OTLP serializer produced no request');
    const res = await this.transport!.send('POST', this.url, Buffer.from(body.buffer, body.byteOffset, body.length));
    const error = errorForStatus(res.status, res.headers, res.body);
    if (error) throw error;
    if (res.raw.length === 0) return;
    let rejected = 0;
    let message = '';
    try {
      const answer = this.serializer.deserializeResponse(res.raw);
      rejected = Number(answer.partialSuccess?.rejectedLogRecords ?? 0);
      message = answer.partialSuccess?.errorMessage ?? '';
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
