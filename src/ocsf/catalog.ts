// Classification facts for the OCSF classes Outrider emits, taken from the schema by scripts/gen-ocsf-catalog.ts
// (schemas/ocsf-catalog.json). Mappers build class/activity/severity fields only through `classify` so that uids,
// type_uid and captions are always consistent with each other and with the schema.
import catalog from '../../schemas/ocsf-catalog.json' with { type: 'json' };

export const OCSF_VERSION: string = catalog.ocsf_version;

export type OcsfClassName = keyof typeof catalog.classes;

interface ClassFacts {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activities: Record<string, string>;
}

const classes = catalog.classes as Record<OcsfClassName, ClassFacts>;
const severities = catalog.severity as Record<string, string>;
const statuses = catalog.status as Record<string, string>;

export const Severity = {
  Unknown: 0,
  Informational: 1,
  Low: 2,
  Medium: 3,
  High: 4,
  Critical: 5,
  Fatal: 6,
  Other: 99,
} as const;
export type SeverityId = (typeof Severity)[keyof typeof Severity];

export const Status = { Unknown: 0, Success: 1, Failure: 2, Other: 99 } as const;
export type StatusId = (typeof Status)[keyof typeof Status];

export interface Classification {
  class_uid: number;
  class_name: string;
  category_uid: number;
  category_name: string;
  activity_id: number;
  activity_name: string;
  type_uid: number;
  type_name: string;
  severity_id: number;
  severity: string;
}

const classificationCache = new Map<string, Classification>();

/**
 * The classification attributes of an event. `activityName` is the source's own word, used only with activity 99
 * (Other), where OCSF asks for it in place of the caption. The object is shared (cached): callers copy its
 * attributes into their event (`...classify(…)`), never change it.
 */
export function classify(
  className: OcsfClassName,
  activityId: number,
  severityId: number,
  activityName?: string,
): Readonly<Classification> {
  const key = `${className}|${activityId}|${severityId}|${activityId === 99 ? (activityName ?? '') : ''}`;
  const cached = classificationCache.get(key);
  if (cached) return cached;
  const cls = classes[className];
  const caption = cls.activities[String(activityId)];
  if (caption === undefined) throw new Error(`activity ${activityId} is not defined for OCSF class ${className}`);
  const severity = severities[String(severityId)];
  if (severity === undefined) throw new Error(`severity ${severityId} is not an OCSF severity`);
  const name = activityId === 99 && activityName ? activityName : caption;
  const result: Classification = {
    class_uid: cls.class_uid,
    class_name: cls.class_name,
    category_uid: cls.category_uid,
    category_name: cls.category_name,
    activity_id: activityId,
    activity_name: name,
    type_uid: cls.class_uid * 100 + activityId,
    // type_name is the caption of type_uid, so it keeps the schema's word ("Other") even when activity_name
    // carries the source's own word.
    type_name: `${cls.class_name}: ${caption}`,
    severity_id: severityId,
    severity,
  };
  if (classificationCache.size < 4096) classificationCache.set(key, result);
  return result;
}

export function statusCaption(statusId: number): string {
  return statuses[String(statusId)] ?? 'Other';
}

const classNames = new Map(Object.values(classes).map((c) => [c.class_uid, c.class_name]));

/** The caption of an OCSF class uid Outrider emits (undefined for others). */
export function classNameOf(classUid: number): string | undefined {
  return classNames.get(classUid);
}
