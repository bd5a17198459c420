// Declarative conditions over OCSF fields, as policy rules write them in YAML:
//   {field: class_uid, in: [2004, 3002]}
//   {all: [{field: severity_id, gte: 4}, {not: {field: device.container.image.name, prefix: "registry.local/"}}]}
// A field is a dotted path; `name[key]` picks the `value` of the `{name, value}` element named `key` in an array
// (OCSF tags), e.g. `device.container.tags[k8s.namespace.name]`. A leaf holds when ANY value at the path satisfies
// it (arrays fan out), so `metadata.labels: {equals: redacted}` tests membership.
import { z } from 'zod';
import { LinearRegex, linearRegexSource } from './linear-regex.ts';

export interface Condition {
  field?: string;
  equals?: string | number | boolean;
  in?: Array<string | number | boolean>;
  prefix?: string;
  suffix?: string;
  contains?: string;
  regex?: string;
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  exists?: boolean;
  all?: Condition[];
  any?: Condition[];
  not?: Condition;
}

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const OPERATORS = [
  'equals',
  'in',
  'prefix',
  'suffix',
  'contains',
  'regex',
  'gt',
  'gte',
  'lt',
  'lte',
  'exists',
] as const;
const COMBINATORS = ['all', 'any', 'not'] as const;

export const fieldSelector = z
  .string()
  .regex(
    /^[A-Za-z0-9_-]+(\[[^\]]+\])?(\.[A-Za-z0-9_-]+(\[[^\]]+\])?)*$/,
    'expected a dotted field path, e.g. device.container.image.name or device.container.tags[k8s.namespace.name]',
  );

export const conditionSchema: z.ZodType<Condition> = z
  .strictObject({
    field: fieldSelector.optional().describe('The OCSF field (dotted path) a comparison applies to.'),
    equals: scalar.optional().describe('The field equals this value.'),
    in: z.array(scalar).min(1).optional().describe('The field equals one of these values.'),
    prefix: z.string().optional().describe('The (string) field starts with this.'),
    suffix: z.string().optional().describe('The (string) field ends with this.'),
    contains: z.string().optional().describe('The (string) field contains this.'),
    regex: linearRegexSource
      .optional()
      .describe(
        'The (string) field matches this regular expression (RE2 syntax, run in linear time: no lookahead, no backreferences).',
      ),
    gt: z.number().optional().describe('The (numeric) field is greater than this.'),
    gte: z.number().optional().describe('The (numeric) field is greater than or equal to this.'),
    lt: z.number().optional().describe('The (numeric) field is less than this.'),
    lte: z.number().optional().describe('The (numeric) field is less than or equal to this.'),
    exists: z.boolean().optional().describe('The field is present (true) or absent (false).'),
    get all() {
      return z.array(conditionSchema).min(1).optional().describe('Every condition holds.');
    },
    get any() {
      return z.array(conditionSchema).min(1).optional().describe('At least one condition holds.');
    },
    get not() {
      return conditionSchema.optional().describe('The condition does not hold.');
    },
  })
  .superRefine((c, ctx) => {
    const ops = OPERATORS.filter((k) => c[k] !== undefined);
    const combinators = COMBINATORS.filter((k) => c[k] !== undefined);
    if (combinators.length + (c.field !== undefined ? 1 : 0) !== 1) {
      ctx.addIssue({ code: 'custom', message: 'a condition is either {field, <operator>} or one of all/any/not' });
      return;
    }
    if (c.field === undefined && ops.length > 0)
      ctx.addIssue({ code: 'custom', path: [ops[0]!], message: `"${ops[0]}" needs a field` });
    if (c.field !== undefined && ops.length !== 1)
      ctx.addIssue({
        code: 'custom',
        path: ['field'],
        message: `a field condition needs exactly one operator (${OPERATORS.join(', ')})`,
      });
  }) as unknown as z.ZodType<Condition>;

/** A compiled condition: true when the event satisfies it. */
export type Predicate = (event: unknown) => boolean;

interface Segment {
  key: string;
  /** `name[tag]`: pick the `value` of the element whose `name` is `tag`. */
  tag?: string;
}

export function parseFieldSelector(path: string): Segment[] {
  const segments: Segment[] = [];
  for (const m of path.matchAll(/([A-Za-z0-9_-]+)(?:\[([^\]]+)\])?\.?/g))
    segments.push(m[2] !== undefined ? { key: m[1]!, tag: m[2] } : { key: m[1]! });
  return segments;
}

/** Every value the selector reaches (arrays fan out; a final array is returned as its elements). */
export function selectValues(root: unknown, segments: readonly Segment[], out: unknown[] = []): unknown[] {
  collect(root, segments, 0, out);
  return out;
}

function collect(node: unknown, segments: readonly Segment[], index: number, out: unknown[]): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) collect(item, segments, index, out);
    return;
  }
  const segment = segments[index]!;
  let value = (node as Record<string, unknown>)[segment.key];
  if (value === undefined) return;
  if (segment.tag !== undefined) {
    if (!Array.isArray(value)) return;
    const tag = value.find(
      (t) => t !== null && typeof t === 'object' && (t as { name?: unknown }).name === segment.tag,
    );
    value = (tag as { value?: unknown } | undefined)?.value;
    if (value === undefined) return;
  }
  if (index === segments.length - 1) {
    if (Array.isArray(value)) out.push(...value);
    else out.push(value);
    return;
  }
  collect(value, segments, index + 1, out);
}

/** Compiles a validated condition into a predicate (regular expressions built once). */
export function compileCondition(c: Condition): Predicate {
  if (c.all) {
    const parts = c.all.map(compileCondition);
    return (e) => parts.every((p) => p(e));
  }
  if (c.any) {
    const parts = c.any.map(compileCondition);
    return (e) => parts.some((p) => p(e));
  }
  if (c.not) {
    const inner = compileCondition(c.not);
    return (e) => !inner(e);
  }
  const segments = parseFieldSelector(c.field!);
  if (c.exists !== undefined) {
    const wanted = c.exists;
    return (e) => anyValue(e, segments, 0, present) === wanted;
  }
  const test = compileOperator(c);
  return (e) => anyValue(e, segments, 0, test);
}

const present = () => true;

/** Whether any value the selector reaches satisfies `test` (the allocation-free form of selectValues). */
function anyValue(node: unknown, segments: readonly Segment[], index: number, test: (v: unknown) => boolean): boolean {
  if (node === null || typeof node !== 'object') return false;
  if (Array.isArray(node)) {
    for (const item of node) if (anyValue(item, segments, index, test)) return true;
    return false;
  }
  const segment = segments[index]!;
  let value = (node as Record<string, unknown>)[segment.key];
  if (value === undefined) return false;
  if (segment.tag !== undefined) {
    if (!Array.isArray(value)) return false;
    const tag = value.find(
      (t) => t !== null && typeof t === 'object' && (t as { name?: unknown }).name === segment.tag,
    );
    value = (tag as { value?: unknown } | undefined)?.value;
    if (value === undefined) return false;
  }
  if (index < segments.length - 1) return anyValue(value, segments, index + 1, test);
  if (Array.isArray(value)) return value.some(test);
  return test(value);
}

function compileOperator(c: Condition): (value: unknown) => boolean {
  if (c.equals !== undefined) {
    const wanted = c.equals;
    return (v) => v === wanted || (typeof v !== typeof wanted && String(v) === String(wanted));
  }
  if (c.in !== undefined) {
    const set = new Set(c.in.map(String));
    return (v) => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') && set.has(String(v));
  }
  if (c.prefix !== undefined) {
    const p = c.prefix;
    return (v) => typeof v === 'string' && v.startsWith(p);
  }
  if (c.suffix !== undefined) {
    const p = c.suffix;
    return (v) => typeof v === 'string' && v.endsWith(p);
  }
  if (c.contains !== undefined) {
    const p = c.contains;
    return (v) => typeof v === 'string' && v.includes(p);
  }
  if (c.regex !== undefined) {
    const re = new LinearRegex(c.regex);
    return (v) => typeof v === 'string' && re.test(v);
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : Number.NaN);
  if (c.gt !== undefined) {
    const n = c.gt;
    return (v) => num(v) > n;
  }
  if (c.gte !== undefined) {
    const n = c.gte;
    return (v) => num(v) >= n;
  }
  if (c.lt !== undefined) {
    const n = c.lt;
    return (v) => num(v) < n;
  }
  if (c.lte !== undefined) {
    const n = c.lte;
    return (v) => num(v) <= n;
  }
  throw new Error('condition without an operator'); // prevented by the schema
}
