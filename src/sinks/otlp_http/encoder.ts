// OCSF event → OpenTelemetry log record (as the OTel SDK's ReadableLogRecord, so the otlp-transformer serializers
// encode it). One log record per event; body = the OCSF event; routing attributes beside it.
import type { AnyValue, HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Envelope } from '../../core/envelope.ts';
import { lazyModule } from '../../core/lazy-module.ts';
import { otelResourceAttributes } from '../../enrich/resource-attributes.ts';

const otelResources = lazyModule<typeof import('@opentelemetry/resources')>('@opentelemetry/resources');

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

const SCOPE = { name: 'outrider' };
const RESOURCE_CACHE_LIMIT = 1024;

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

/** Builds log records; one Resource object per distinct set of resource attributes, so the serializer groups
 * records of one container under one ResourceLogs. */
export class LogRecordBuilder {
  private readonly resources = new Map<string, Resource>();

  constructor(private readonly hostname: string) {}

  private resource(e: Envelope): Resource {
    const attrs = otelResourceAttributes(this.hostname, e.container);
    const key = JSON.stringify(attrs);
    let resource = this.resources.get(key);
    if (!resource) {
      if (this.resources.size >= RESOURCE_CACHE_LIMIT) this.resources.clear();
      resource = otelResources().resourceFromAttributes(attrs);
      this.resources.set(key, resource);
    }
    return resource;
  }

  build(events: Envelope[]): ReadableLogRecord[] {
    const observed = hrTime(Date.now());
    return events.map((e) => {
      const event = e.event;
      const severity = OTEL_SEVERITY[event.severity_id] ?? { number: 0, text: String(event.severity ?? 'Other') };
      const attributes: Record<string, string | number> = {
        [OCSF_ATTRIBUTES.classUid]: event.class_uid,
        [OCSF_ATTRIBUTES.categoryUid]: event.category_uid,
        [OCSF_ATTRIBUTES.activityId]: event.activity_id,
        [OCSF_ATTRIBUTES.severityId]: event.severity_id,
      };
      if (typeof event.class_name === 'string') attributes[OCSF_ATTRIBUTES.className] = event.class_name;
      return {
        hrTime: hrTime(event.time),
        hrTimeObserved: observed,
        severityNumber: severity.number,
        severityText: typeof event.severity === 'string' ? event.severity : severity.text,
        body: event as unknown as AnyValue,
        resource: this.resource(e),
        instrumentationScope: SCOPE,
        attributes,
        droppedAttributesCount: 0,
      };
    });
  }
}
