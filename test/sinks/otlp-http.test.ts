// The otlp_http sink against an OTLP/HTTP receiver that decodes requests with the OpenTelemetry proto definitions
// (the protobufjs root generated from opentelemetry-proto, shipped in @opentelemetry/otlp-proto-exporter-base), not
// with the serializer the sink uses, and checks every field of every log record.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import type { ContainerRef, Envelope } from '../../src/core/envelope.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { tempDir, waitFor } from '../support/outrider.ts';
import {
  encodedLikeWorker,
  makeEvents,
  metricValue,
  type Reply,
  startSink,
  stillBytes,
  TestReceiver,
} from './support.ts';

interface ProtoType {
  decode(buf: Uint8Array): unknown;
  encode(msg: unknown): { finish(): Uint8Array };
  fromObject(o: unknown): unknown;
  toObject(m: unknown, o: Record<string, unknown>): Record<string, unknown>;
}
const proto = createRequire(import.meta.url)('@opentelemetry/otlp-proto-exporter-base/build/src/generated/root.js')
  .opentelemetry.proto.collector.logs.v1 as Record<'ExportLogsServiceRequest' | 'ExportLogsServiceResponse', ProtoType>;

type AnyValue = Record<string, unknown>;
interface KeyValue {
  key: string;
  value: AnyValue;
}
interface LogRecordMsg {
  timeUnixNano: string;
  observedTimeUnixNano: string;
  severityNumber: number;
  severityText: string;
  body: AnyValue;
  attributes: KeyValue[];
}
interface ExportRequest {
  resourceLogs: Array<{
    resource: { attributes: KeyValue[] };
    scopeLogs: Array<{ scope: { name: string }; logRecords: LogRecordMsg[] }>;
  }>;
}

/** An OTLP AnyValue (protobuf toObject or OTLP JSON) as plain JSON. */
function plain(v: AnyValue | undefined): unknown {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return Number(v.doubleValue);
  if ('arrayValue' in v) return ((v.arrayValue as { values?: AnyValue[] }).values ?? []).map(plain);
  if ('kvlistValue' in v) return attributesOf((v.kvlistValue as { values?: KeyValue[] }).values ?? []);
  return null;
}
const attributesOf = (kvs: KeyValue[]) => Object.fromEntries(kvs.map((kv) => [kv.key, plain(kv.value)]));

function decodeProtobuf(body: Buffer): ExportRequest {
  const msg = proto.ExportLogsServiceRequest.decode(body);
  return proto.ExportLogsServiceRequest.toObject(msg, { longs: String, arrays: true }) as unknown as ExportRequest;
}

const OTHER_CONTAINER: ContainerRef = { id: 'c'.repeat(64), name: 'db-1', runtime: 'containerd' };

/** Checks every record of a decoded request against the events sent; returns the OCSF bodies. */
function checkRequest(request: ExportRequest, sent: Envelope[]): unknown[] {
  const bodies: unknown[] = [];
  const byMessage = new Map(sent.map((e) => [e.event.message, e]));
  for (const rl of request.resourceLogs) {
    const resource = attributesOf(rl.resource.attributes);
    expect(resource['host.name']).toBe('test-host');
    for (const sl of rl.scopeLogs) {
      expect(sl.scope.name).toBe('outrider');
      for (const r of sl.logRecords) {
        const body = plain(r.body) as Record<string, unknown>;
        const original = byMessage.get(body.message as string)!;
        expect(body).toEqual(JSON.parse(JSON.stringify(original.event)));
        const c = original.container!;
        expect(resource['container.id']).toBe(c.id);
        expect(resource['container.name']).toBe(c.name);
        expect(resource['container.runtime']).toBe(c.runtime);
        if (c.k8s) {
          expect(resource['k8s.namespace.name']).toBe(c.k8s.namespace);
          expect(resource['k8s.pod.name']).toBe(c.k8s.pod);
          expect(resource['k8s.pod.uid']).toBe(c.k8s.podUid);
          expect(resource['k8s.container.name']).toBe(c.k8s.container);
          expect(resource['container.image.name']).toBe(c.image!.name);
          expect(resource['container.image.tags']).toEqual([c.image!.tag]);
          expect(resource['container.image.id']).toBe(c.image!.id);
        }
        const ev = original.event;
        expect(attributesOf(r.attributes)).toEqual({
          'ocsf.class_uid': ev.class_uid,
          'ocsf.class_name': ev.class_name,
          'ocsf.category_uid': ev.category_uid,
          'ocsf.activity_id': ev.activity_id,
          'ocsf.severity_id': ev.severity_id,
        });
        expect(BigInt(r.timeUnixNano)).toBe(BigInt(ev.time) * 1_000_000n);
        expect(BigInt(r.observedTimeUnixNano)).toBeGreaterThan(BigInt(ev.time) * 1_000_000n);
        // Informational → INFO (9), Medium (ERROR lines) → ERROR (17)
        expect(r.severityNumber).toBe(ev.severity_id === 1 ? 9 : 17);
        expect(r.severityText).toBe(ev.severity);
        bodies.push(body);
      }
    }
  }
  return bodies;
}

describe('otlp_http sink', () => {
  it('sends protobuf log records grouped per resource, every field as specified', async () => {
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    const harness = await startSink('otlp_http', { endpoint: receiver.url, batch: { timeout: 50 } }, tempDir());
    const sent = [...makeEvents(20, 'web'), ...makeEvents(10, 'db', { container: OTHER_CONTAINER })];
    await harness.source.emit(sent);
    expect(await waitFor(() => harness.source.acked === 30, 10_000)).toBe(true);
    expect(receiver.requests).toHaveLength(1);
    const req = receiver.requests[0]!;
    expect(req.url).toBe('/v1/logs');
    expect(req.headers['content-type']).toBe('application/x-protobuf');
    const request = decodeProtobuf(req.body);
    expect(request.resourceLogs).toHaveLength(2);
    const bodies = checkRequest(request, sent);
    expect(bodies).toHaveLength(30);
    const file = recordOutput('sinks/otlp-protobuf', bodies);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('sends OTLP JSON when configured', async () => {
    const receiver = await new TestReceiver(() => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })).listen();
    const harness = await startSink(
      'otlp_http',
      { endpoint: `${receiver.url}/v1/logs`, encoding: 'json', compression: 'none', batch: { timeout: 50 } },
      tempDir(),
    );
    const sent = makeEvents(12, 'web');
    await harness.source.emit(sent);
    expect(await waitFor(() => harness.source.acked === 12, 10_000)).toBe(true);
    const req = receiver.requests[0]!;
    expect(req.headers['content-type']).toBe('application/json');
    const bodies = checkRequest(JSON.parse(req.body.toString('utf8')) as ExportRequest, sent);
    expect(bodies).toHaveLength(12);
    const file = recordOutput('sinks/otlp-json', bodies);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('counts records refused in a partial success, and retries 503 with Retry-After', async () => {
    let calls = 0;
    const partial = Buffer.from(
      proto.ExportLogsServiceResponse.encode(
        proto.ExportLogsServiceResponse.fromObject({
          partialSuccess: { rejectedLogRecords: 2, errorMessage: 'two records too large' },
        }),
      ).finish(),
    );
    const receiver = await new TestReceiver(
      (): Reply =>
        ++calls === 1
          ? { status: 503, headers: { 'retry-after': '1' } }
          : { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: partial },
    ).listen();
    const harness = await startSink(
      'otlp_http',
      { endpoint: receiver.url, batch: { timeout: 50 }, retry: { initial_backoff: 50, max_backoff: 100 } },
      tempDir(),
    );
    const sent = makeEvents(5, 'web');
    await harness.source.emit(sent);
    expect(await waitFor(() => harness.source.acked === 5, 10_000)).toBe(true);
    expect(calls).toBe(2);
    expect(
      await metricValue(harness.metrics.sinkEventsDeadLettered, { component: 'out', reason: 'otlp_partial_success' }),
    ).toBe(2);
    expect(await metricValue(harness.metrics.eventsLost, { reason: 'otlp_partial_success' })).toBe(2);
    expect(harness.logs.some((l) => l.includes('two records too large'))).toBe(true);
    const bodies = checkRequest(decodeProtobuf(receiver.requests[0]!.body), sent);
    const file = recordOutput('sinks/otlp-partial', bodies);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it("transcodes the decode workers' JSON bytes into the same log records, whatever the values, in both encodings", async () => {
    // Values the JSON → AnyValue transcoder must carry exactly: escapes, non-ASCII, control characters, numbers of
    // every kind (negative, fractional, beyond int64: a double), nesting, empty containers, null.
    const awkward = {
      quote: 'say "hi" \\ back\\slash',
      unicode: 'é ✓ 𝄞 \u0000 \u001f \u2028',
      long: 'x'.repeat(300),
      numbers: [0, -1, -9007199254740991, 2 ** 53 + 2, 1.5, -2.25e-7, 1e300, 2 ** 63, 2 ** 64],
      nested: { a: [[], {}, [null, true, false]], b: { c: { d: 'deep' } } },
      none: null,
    };
    for (const encoding of ['protobuf', 'json'] as const) {
      const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
      const harness = await startSink(
        'otlp_http',
        { endpoint: receiver.url, encoding, batch: { timeout: 50 } },
        tempDir(),
      );
      const plain = [...makeEvents(8, 'web'), ...makeEvents(4, 'db', { container: OTHER_CONTAINER })];
      for (const e of plain) e.event.unmapped = { ...e.event.unmapped, awkward };
      const sent = encodedLikeWorker(plain, 'test-host');
      await harness.source.emit(sent);
      expect(await waitFor(() => harness.source.acked === 12, 10_000)).toBe(true);
      expect(stillBytes(sent)).toBe(true);
      const body = receiver.requests[0]!.body;
      const request =
        encoding === 'protobuf' ? decodeProtobuf(body) : (JSON.parse(body.toString('utf8')) as ExportRequest);
      expect(request.resourceLogs).toHaveLength(2);
      expect(checkRequest(request, plain)).toHaveLength(12);
    }
  });
});
