import { randomUUID } from 'node:crypto';
import { sleep } from '../../core/backoff.ts';
import type { ComponentContext, Sink, SinkWriteResult } from '../../core/component.ts';
import { type Envelope, eventFact, eventHost, Fact } from '../../core/envelope.ts';
import { type BodyBuffers, type ByteWriter, bodySize } from '../../delivery/framing.ts';
import { type HttpResponse, HttpTransport } from '../../delivery/http.ts';
import { DeliveryError, errorForStatus, parseRetryAfter } from '../../delivery/outcome.ts';
import type { SplunkHecSinkConfig } from './config.ts';

interface HecAnswer {
  text?: string;
  code?: number;
  ackId?: number;
  'invalid-event-number'?: number;
  acks?: Record<string, boolean>;
}

/** HEC status codes that say the server, not the request, is the problem (busy, queues full, ack service down). */
const HEC_RETRYABLE_CODES = new Set([8, 9, 18, 19, 20]);
/** HEC status codes that refuse every request of this sender whatever its events: the token (1 disabled, 2 missing,
 * 3 invalid authorization, 4 invalid), the index it may not write (7), channels (10, 11), acknowledgement disabled
 * on the token (14), query-string authorization (16). Retried; the sink is not ready meanwhile. */
const HEC_DESTINATION_CODES = new Set([1, 2, 3, 4, 7, 10, 11, 14, 16]);

/**
 * Splunk HTTP Event Collector. Events are HEC JSON envelopes ({time, host, source, sourcetype, index, event}) with
 * the OCSF event as `event`. With indexer acknowledgement, a batch counts as delivered only once /services/collector/
 * ack reports its ackId indexed; a batch whose ack does not come in time is sent again.
 */
export class SplunkHecSink implements Sink {
  private transport: HttpTransport | undefined;
  private hostname = '';
  private readonly channel = randomUUID();
  private readonly stopped = new AbortController();

  constructor(private readonly config: SplunkHecSinkConfig) {}

  async start(ctx: ComponentContext): Promise<void> {
    this.hostname = ctx.hostname;
    this.transport = new HttpTransport({
      timeout: this.config.timeout,
      compression: this.config.compression,
      compressionLevel: this.config.compression_level,
      tls: this.config.tls,
      headers: {
        authorization: `Splunk ${this.config.token}`,
        'content-type': 'application/json',
        'x-splunk-request-channel': this.channel,
      },
    });
  }

  /** Per event a HEC envelope around the event's JSON bytes: `{"time":…,"host":…,"source":…,"sourcetype":…,"event":`
   * EVENT `}`, newline-separated. */
  encode(events: Envelope[], bodies: BodyBuffers): ByteWriter {
    const { sourcetype, index, source } = this.config;
    const fixed = `,"sourcetype":${JSON.stringify(sourcetype)}${index ? `,"index":${JSON.stringify(index)}` : ''},"event":`;
    const out = bodies.writer(bodySize(events, 128 + fixed.length));
    let lastHost: string | undefined;
    let hostJson = '';
    let lastSource: string | undefined;
    let sourceJson = '';
    for (const e of events) {
      const host = eventHost(e) ?? this.hostname;
      if (host !== lastHost) {
        lastHost = host;
        hostJson = JSON.stringify(host);
      }
      if (e.source !== lastSource) {
        lastSource = e.source;
        sourceJson = JSON.stringify(source ?? `outrider:${e.source}`);
      }
      out.text(
        `{"time":${(eventFact(e, Fact.time) / 1000).toFixed(3)},"host":${hostJson},"source":${sourceJson}${fixed}`,
      );
      out.event(e);
      out.text('}\n');
    }
    return out;
  }

  async write(events: Envelope[]): Promise<SinkWriteResult | undefined> {
    const base = this.config.endpoint.replace(/\/+$/, '');
    const res = await this.transport!.send(
      'POST',
      `${base}/services/collector/event`,
      this.encode(events, this.transport!.bodies),
    );
    const answer = parseAnswer(res);
    if (res.status === 400 && answer.code === 6 && typeof answer['invalid-event-number'] === 'number') {
      // One event is malformed: it is dead-lettered and the others are sent again (HEC may or may not have indexed
      // the ones before it; a duplicate is better than a loss).
      const bad = answer['invalid-event-number'];
      if (bad >= 0 && bad < events.length) {
        const others = events.map((_, i) => i).filter((i) => i !== bad);
        return {
          rejected: [{ index: bad, reason: `HEC code 6: ${answer.text ?? 'Invalid data format'}` }],
          ...(others.length > 0 ? { retry: { indices: others, reason: 'resent after HEC refused one event' } } : {}),
        };
      }
    }
    if (answer.code !== undefined && res.status >= 300) {
      const kind = HEC_RETRYABLE_CODES.has(answer.code)
        ? 'transient'
        : HEC_DESTINATION_CODES.has(answer.code)
          ? 'destination'
          : undefined;
      if (kind)
        throw new DeliveryError(
          `HEC code ${answer.code}: ${answer.text ?? ''} (HTTP ${res.status})`,
          kind,
          parseRetryAfter(res.headers['retry-after']),
        );
    }
    const error = errorForStatus(res.status, res.headers, answer.text ?? res.body);
    if (error) throw error;
    if (this.config.indexer_acknowledgement.enabled) {
      if (typeof answer.ackId !== 'number')
        throw new DeliveryError(
          'indexer acknowledgement is on but HEC returned no ackId (is it enabled on the token?)',
          'transient',
        );
      await this.waitForAck(base, answer.ackId);
    }
  }

  private async waitForAck(base: string, ackId: number): Promise<void> {
    const { poll_interval, timeout } = this.config.indexer_acknowledgement;
    const deadline = Date.now() + timeout;
    while (Date.now() < deadline) {
      if (!(await sleep(poll_interval, this.stopped.signal))) break;
      const res = await this.transport!.send(
        'POST',
        `${base}/services/collector/ack?channel=${this.channel}`,
        JSON.stringify({ acks: [ackId] }),
        {},
        false,
      );
      const answer = parseAnswer(res);
      if (res.status === 200 && answer.acks?.[String(ackId)] === true) return;
      if (res.status !== 200) {
        const error = errorForStatus(res.status, res.headers, answer.text ?? res.body);
        // An ack poll refused for good (acks disabled on the token) still must not lose the batch: resend it.
        if (error) throw new DeliveryError(`ack poll: ${error.message}`, 'transient', error.retryAfterMs);
      }
    }
    throw new DeliveryError(
      `HEC did not acknowledge ackId ${ackId} within ${timeout} ms; sending the batch again`,
      'transient',
    );
  }

  async stop(): Promise<void> {
    this.stopped.abort();
    await this.transport?.close();
  }
}

function parseAnswer(res: HttpResponse): HecAnswer {
  try {
    return JSON.parse(res.body) as HecAnswer;
  } catch {
    return {};
  }
}
