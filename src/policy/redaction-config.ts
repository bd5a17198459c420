// The top-level `redaction:` config section: the built-in rules (src/policy/redaction-rules.ts) on by default,
// disabled by name, extended with regular expressions and field paths.
import { z } from 'zod';
import { linearRegexSource } from './linear-regex.ts';
import { BUILTIN_RULE_NAMES, SECRET_FIELD_RULE } from './redaction-rules.ts';

/** A dotted OCSF field path such as `actor.user.name` or `unmapped.docker.env`. */
export const fieldPath = z
  .string()
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected a dotted field path, e.g. actor.user.name');

const ruleNames = [SECRET_FIELD_RULE, ...BUILTIN_RULE_NAMES] as [string, ...string[]];

export const redactionSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('Mask secrets in every event before any transform or sink sees it. Turn off only for debugging.'),
    disable: z
      .array(z.enum(ruleNames))
      .default([])
      .describe('Built-in rules to turn off, by name (see docs/policy.md for the table).'),
    rules: z
      .array(
        z.strictObject({
          name: z
            .string()
            .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only')
            .describe('Rule name, recorded on masked events.'),
          pattern: linearRegexSource.describe(
            'Regular expression matching the secret; the whole match is masked. RE2 syntax, run in linear time (no lookahead, no backreferences); lookbehind gives context, e.g. `(?<=X-Api-Token: )\\S+`.',
          ),
          case_insensitive: z.boolean().default(false).describe('Match ignoring case.'),
          fields: z
            .array(fieldPath)
            .min(1)
            .optional()
            .describe('Limit the rule to these field paths (default: every string field, `raw_data` included).'),
        }),
      )
      .default([])
      .describe('Extra rules, applied after the built-in ones.'),
    fields: z
      .array(fieldPath)
      .default([])
      .describe('Field paths always masked whole when present, e.g. `unmapped.docker.env`.'),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>(ruleNames);
    config.rules.forEach((rule, i) => {
      if (seen.has(rule.name))
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'name'], message: `rule name "${rule.name}" already used` });
      seen.add(rule.name);
    });
  })
  .default({ enabled: true, disable: [], rules: [], fields: [] })
  .describe('Secret masking applied to every event a source emits (and by `outrider normalise`).');

export type RedactionConfig = z.output<typeof redactionSchema>;

export const DEFAULT_REDACTION: RedactionConfig = redactionSchema.parse(undefined);
