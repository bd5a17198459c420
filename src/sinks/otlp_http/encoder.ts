// OCSF events → an OTLP/HTTP ExportLogsServiceRequest, protobuf or OTLP JSON. One log record per event; body = the
// OCSF event as a kvlist AnyValue, transcoded from the event's JSON bytes (anyvalue.ts); routing attributes, time and
// severity from the facts the decode workers send beside the bytes (Fact): nothing is decoded on the main thread.
// Records are grouped into one ResourceLogs per container.
import { type ContainerRef, type Envelope, eventFact, Fact } from '../../core/envelope.ts';
import { type BodyBuffers, type ByteWriter, bodySize, eventJsonSpan } from '../../delivery/framing.ts';
import { otelResourceAttributes } from '../../enrich/resource-attributes.ts';
import { classNameOf } from '../../ocsf/catalog.ts';
import { jsonToAnyValue, jsonToOtlpJson, ProtoWriter } from './anyvalue.ts';

/** Log record attribute names, so a collector can route on the OCSF class without parsing the body. */
export const OCSF_ATTRIBUTES = {
  classUid: 'ocsf.class_uid',
  className: 'ocsf.class_name',
  categoryUid: 'ocsf.category_uid',
  activityId: 'ocsf.activity_id',
  severityId: 'ocsf.severity_id',
} as const;

/** OCSF severity_id → OTel SeverityNumber and text (documented in docs/sinks.md). */
export const OTEL_SEVERITY: Record<number, { number: number; text: string }> = {
  0: { number: 0, text: 'Unknown' },
  1: { number: 9, text: 'Informational' }, // INFO
  2: { number: 13, text: 'Low' }, // WARN
  3: { number: 17, text: 'Medium' }, // ERROR
  4: { number: 19, text: 'High' }, // ERROR3
  5: { number: 21, text: 'Critical' }, // FATAL
  6: { number: 24, text: 'Fatal' }, // FATAL4
  99: { number: 0, text: 'Other' },
};

const SCOPE_NAME = 'outrider';
/** Where the event being encoded is in its bytes (one object for every event). */
const span = { start: 0, end: 0 };
/** Integer attributes, in the order they are written, with the fact each comes from. */
const INT_ATTRIBUTES: Array<[string, number]> = [
  [OCSF_ATTRIBUTES.classUid, Fact.classUid],
  [OCSF_ATTRIBUTES.categoryUid, Fact.categoryUid],
  [OCSF_ATTRIBUTES.activityId, Fact.activityId],
  [OCSF_ATTRIBUTES.severityId, Fact.severityId],
];

// opentelemetry-proto field numbers
const REQUEST_RESOURCE_LOGS = 1;
const RESOURCE_LOGS_RESOURCE = 1;
const RESOURCE_LOGS_SCOPE_LOGS = 2;
const RESOURCE_ATTRIBUTES = 1;
const SCOPE_LOGS_SCOPE = 1;
const SCOPE_LOGS_LOG_RECORDS = 2;
const SCOPE_NAME_FIELD = 1;
const RECORD_TIME = 1;
const RECORD_SEVERITY_NUMBER = 2;
const RECORD_SEVERITY_TEXT = 3;
const RECORD_BODY = 5;
const RECORD_ATTRIBUTES = 6;
const RECORD_OBSERVED_TIME = 11;
const KEY_VALUE_KEY = 1;
const KEY_VALUE_VALUE = 2;
const ANY_STRING = 1;
const ANY_INT = 3;
const ANY_ARRAY = 5;
const ARRAY_VALUES = 1;
const RESPONSE_PARTIAL_SUCCESS = 1;
const PARTIAL_REJECTED = 1;
const PARTIAL_MESSAGE = 2;

/** Most distinct resources (containers) whose encoding is kept; older ones are encoded again when seen. */
const RESOURCE_CACHE_LIMIT = 1024;
/** Framing bytes per record beyond its body: times, severity, attributes, the kvlist's per-field overhead. */
const RECORD_OVERHEAD = 256;

/** A resource as both encodings write it, and the key records are grouped by. */
interface EncodedResource {
  key: string;
  protobuf: Buffer;
  json: string;
}

export class OtlpLogsEncoder {
  private readonly resources = new Map<string, EncodedResource>();
  /** The encoding of each container object seen (events of one file, or one enriched container, share it). */
  private readonly byContainer = new WeakMap<ContainerRef, EncodedResource>();
  private hostOnly: EncodedResource | undefined;

  constructor(
    private readonly hostname: string,
    private readonly encoding: 'protobuf' | 'json',
  ) {}

  /** The request body for `events`, observed at `observedMs`, written into a buffer of `bodies`. */
  encode(events: Envelope[], bodies: BodyBuffers, observedMs = Date.now()): ByteWriter {
    const groups = new Map<string, { resource: EncodedResource; events: Envelope[] }>();
    for (const e of events) {
      const resource = this.resource(e.container);
      let group = groups.get(resource.key);
      if (!group) {
        group = { resource, events: [] };
        groups.set(resource.key, group);
      }
      group.events.push(e);
    }
    return this.encoding === 'protobuf'
      ? this.protobuf(groups.values(), events, observedMs, bodies)
      : this.json(groups.values(), events, observedMs, bodies);
  }

  private protobuf(
    groups: Iterable<{ resource: EncodedResource; events: Envelope[] }>,
    all: Envelope[],
    observedMs: number,
    bodies: BodyBuffers,
  ): ByteWriter {
    const size = bodySize(all, RECORD_OVERHEAD);
    const w = new ProtoWriter(size, bodies.take(size));
    for (const group of groups) {
      const resourceLogs = w.begin(REQUEST_RESOURCE_LOGS);
      w.field(RESOURCE_LOGS_RESOURCE, group.resource.protobuf);
      const scopeLogs = w.begin(RESOURCE_LOGS_SCOPE_LOGS);
      w.field(SCOPE_LOGS_SCOPE, SCOPE_PROTOBUF);
      for (const e of group.events) {
        const record = w.begin(SCOPE_LOGS_LOG_RECORDS);
        w.nanosFromMillis(RECORD_TIME, eventFact(e, Fact.time));
        w.nanosFromMillis(RECORD_OBSERVED_TIME, observedMs);
        const severity = severityOf(eventFact(e, Fact.severityId));
        if (severity.number !== 0) {
          w.tag(RECORD_SEVERITY_NUMBER, 0);
          w.varint(severity.number);
        }
        w.string(RECORD_SEVERITY_TEXT, severity.text);
        const body = w.begin(RECORD_BODY);
        const json = eventJsonSpan(e, span);
        jsonToAnyValue(json, span.start, span.end, w);
        w.end(body);
        for (const [key, fact] of INT_ATTRIBUTES) {
          const kv = w.begin(RECORD_ATTRIBUTES);
          w.string(KEY_VALUE_KEY, key);
          const value = w.begin(KEY_VALUE_VALUE);
          w.int64(ANY_INT, eventFact(e, fact));
          w.end(value);
          w.end(kv);
        }
        const className = classNameOf(eventFact(e, Fact.classUid));
        if (className !== undefined) {
          const kv = w.begin(RECORD_ATTRIBUTES);
          w.string(KEY_VALUE_KEY, OCSF_ATTRIBUTES.className);
          const value = w.begin(KEY_VALUE_VALUE);
          w.string(ANY_STRING, className);
          w.end(value);
          w.end(kv);
        }
        w.end(record);
      }
      w.end(scopeLogs);
      w.end(resourceLogs);
    }
    return w;
  }

  private json(
    groups: Iterable<{ resource: EncodedResource; events: Envelope[] }>,
    all: Envelope[],
    observedMs: number,
    bodies: BodyBuffers,
  ): ByteWriter {
    const out = bodies.writer(bodySize(all, RECORD_OVERHEAD) * 2);
    const observed = nanosText(observedMs);
    out.text('{"resourceLogs":[');
    let firstGroup = true;
    for (const group of groups) {
      out.text(firstGroup ? '{"resource":' : ',{"resource":');
      firstGroup = false;
      out.text(group.resource.json);
      out.text(`,"scopeLogs":[{"scope":{"name":"${SCOPE_NAME}"},"logRecords":[`);
      let firstRecord = true;
      for (const e of group.events) {
        const severity = severityOf(eventFact(e, Fact.severityId));
        out.text(firstRecord ? '{' : ',{');
        firstRecord = false;
        out.text(
          `"timeUnixNano":"${nanosText(eventFact(e, Fact.time))}","observedTimeUnixNano":"${observed}","severityNumber":${severity.number},"severityText":${JSON.stringify(severity.text)},"body":`,
        );
        const json = eventJsonSpan(e, span);
        jsonToOtlpJson(json, span.start, out);
        out.text(',"attributes":[');
        for (const [key, fact] of INT_ATTRIBUTES) {
          out.text(`{"key":"${key}","value":{"intValue":${eventFact(e, fact)}}},`);
        }
        const className = classNameOf(eventFact(e, Fact.classUid));
        if (className !== undefined)
          out.text(`{"key":"${OCSF_ATTRIBUTES.className}","value":{"stringValue":${JSON.stringify(className)}}}`);
        else out.pos--; // the last attribute's comma
        out.text(']}');
      }
      out.text(']}]}');
    }
    out.text(']}');
    return out;
  }

  private resource(container: ContainerRef | undefined): EncodedResource {
    if (!container) {
      this.hostOnly ??= this.encodeResource(undefined);
      return this.hostOnly;
    }
    let resource = this.byContainer.get(container);
    if (!resource) {
      resource = this.encodeResource(container);
      this.byContainer.set(container, resource);
    }
    return resource;
  }

  /** A resource's encodings, shared by every container object with the same attributes. */
  private encodeResource(container: ContainerRef | undefined): EncodedResource {
    const attrs = otelResourceAttributes(this.hostname, container);
    const key = JSON.stringify(attrs);
    const known = this.resources.get(key);
    if (known) return known;
    const w = new ProtoWriter(256);
    for (const [name, value] of Object.entries(attrs)) {
      const kv = w.begin(RESOURCE_ATTRIBUTES);
      w.string(KEY_VALUE_KEY, name);
      const any = w.begin(KEY_VALUE_VALUE);
      if (Array.isArray(value)) {
        const array = w.begin(ANY_ARRAY);
        for (const item of value) {
          const element = w.begin(ARRAY_VALUES);
          w.string(ANY_STRING, item);
          w.end(element);
        }
        w.end(array);
      } else w.string(ANY_STRING, value);
      w.end(any);
      w.end(kv);
    }
    const json = `{"attributes":[${Object.entries(attrs)
      .map(
        ([name, value]) =>
          `{"key":${JSON.stringify(name)},"value":${
            Array.isArray(value)
              ? `{"arrayValue":{"values":[${value.map((v) => `{"stringValue":${JSON.stringify(v)}}`).join(',')}]}}`
              : `{"stringValue":${JSON.stringify(value)}}`
          }}`,
      )
      .join(',')}],"droppedAttributesCount":0}`;
    const resource = { key, protobuf: Buffer.from(w.finish()), json };
    if (this.resources.size >= RESOURCE_CACHE_LIMIT) this.resources.clear();
    this.resources.set(key, resource);
    return resource;
  }
}

const SCOPE_PROTOBUF = (() => {
  const w = new ProtoWriter(32);
  w.string(SCOPE_NAME_FIELD, SCOPE_NAME);
  return Buffer.from(w.finish());
})();

function severityOf(severityId: number): { number: number; text: string } {
  return OTEL_SEVERITY[severityId] ?? OTEL_SEVERITY[99]!;
}

/** Nanoseconds since the epoch as decimal text, exact for integer milliseconds. */
function nanosText(ms: number): string {
  return String(BigInt(Math.trunc(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6)));
}

/** A receiver's partial success (records it refused without saying which), from either encoding of the answer. */
export function partialSuccess(
  body: Buffer,
  encoding: 'protobuf' | 'json',
): { rejected: number; message: string } | undefined {
  if (body.length === 0) return undefined;
  if (encoding === 'json') {
    const answer = JSON.parse(body.toString('utf8')) as {
      partialSuccess?: { rejectedLogRecords?: number | string; errorMessage?: string };
    };
    const p = answer.partialSuccess;
    return p ? { rejected: Number(p.rejectedLogRecords ?? 0), message: p.errorMessage ?? '' } : undefined;
  }
  let result: { rejected: number; message: string } | undefined;
  readFields(body, 0, body.length, (field, start, end) => {
    if (field !== RESPONSE_PARTIAL_SUCCESS) return;
    result = { rejected: 0, message: '' };
    readFields(body, start, end, (inner, s, e, varint) => {
      if (inner === PARTIAL_REJECTED) result!.rejected = varint ?? 0;
      else if (inner === PARTIAL_MESSAGE) result!.message = body.toString('utf8', s, e);
    });
  });
  return result;
}

/** Walks the fields of a protobuf message: length-delimited ones with their span, varints with their value. */
function readFields(
  buf: Buffer,
  from: number,
  to: number,
  onField: (field: number, start: number, end: number, varint?: number) => void,
): void {
  let at = from;
  const varint = (): number => {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (at >= to) throw new Error('truncated protobuf');
      const b = buf[at++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
  };
  while (at < to) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        onField(field, at, at, varint());
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = varint();
        onField(field, at, at + length);
        at += length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        throw new Error(`unsupported protobuf wire type ${key & 7}`);
    }
  }
}
