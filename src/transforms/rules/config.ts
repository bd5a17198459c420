import { z } from 'zod';
import { inputsSchema } from '../../core/common-config.ts';
import { Severity } from '../../ocsf/catalog.ts';
import { conditionSchema, fieldSelector } from '../../policy/conditions.ts';

const severityNames = Object.keys(Severity) as [keyof typeof Severity, ...Array<keyof typeof Severity>];

/** An OCSF severity by caption (`High`) or id (4). */
export const severitySchema = z.union([
  z.enum(severityNames),
  z
    .number()
    .int()
    .refine((n) => Object.values(Severity).includes(n as never), 'not an OCSF severity_id (0-6 or 99)'),
]);

const CAPTIONS = new Map<number, string>(Object.entries(Severity).map(([name, id]) => [id, name]));

/** The severity_id of a configured severity (caption or id). */
export function severityId(value: string | number): number {
  return typeof value === 'number' ? value : Severity[value as keyof typeof Severity];
}

/** The OCSF caption (`severity`) of a severity_id. */
export function severityCaption(id: number): string {
  return CAPTIONS.get(id) ?? 'Other';
}

export const ruleSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, ".", "_" and "-" only')
    .describe('Rule name, shown by `outrider test-rules` and recorded in `metadata.labels` when `label` is set.'),
  when: conditionSchema
    .optional()
    .describe('Condition over OCSF fields (see docs/policy.md); absent: the rule applies to every event.'),
  action: z
    .enum(['continue', 'keep', 'drop'])
    .default('continue')
    .describe('After the rule’s other effects: go on with the next rule, keep the event (stop), or drop it.'),
  route: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('Send the event only to these sinks (added to earlier routes); unrouted events go to every sink.'),
  sample: z
    .strictObject({
      rate: z.number().positive().max(1).describe('Fraction of matching events kept, e.g. 0.01 for 1 in 100.'),
      key: fieldSelector
        .default('metadata.uid')
        .describe('Field whose hash decides, so the same key is always kept or always dropped.'),
    })
    .optional()
    .describe('Keep only a deterministic fraction of the matching events (the others are dropped).'),
  set_severity: severitySchema.optional().describe('Set `severity_id` (and its caption `severity`).'),
  raise_severity: severitySchema
    .optional()
    .describe('Raise `severity_id` to at least this (never lowers it); the caption follows.'),
  labels: z.array(z.string().min(1)).min(1).optional().describe('Labels added to `metadata.labels`.'),
});

export const rulesTransformSchema = z.strictObject({
  inputs: inputsSchema,
  rules: z.array(ruleSchema).min(1).describe('Evaluated in order for every event.'),
});

export type RuleConfig = z.output<typeof ruleSchema>;
export type RulesTransformConfig = z.output<typeof rulesTransformSchema>;
