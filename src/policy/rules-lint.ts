// Checks of rules transforms that need the whole config: routes must name existing sinks (error), and rules that
// can never apply (after an unconditional drop/keep, or behind an earlier drop/keep with the same condition) are
// reported as warnings by `outrider check-config`.
import type { ConfigProblem } from '../config/errors.ts';
import type { RuleConfig } from '../transforms/rules/config.ts';

export interface RulesComponent {
  name: string;
  type: string;
  config: Record<string, unknown>;
}

export function lintRules(
  transforms: readonly RulesComponent[],
  sinkNames: readonly string[],
): { errors: ConfigProblem[]; warnings: ConfigProblem[] } {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const sinks = new Set(sinkNames);
  for (const t of transforms) {
    if (t.type !== 'rules') continue;
    const rules = t.config.rules as RuleConfig[];
    const prefix = `transforms.${t.name}.rules`;
    rules.forEach((rule, i) => {
      rule.route?.forEach((sink, j) => {
        if (!sinks.has(sink)) errors.push({ path: `${prefix}[${i}].route[${j}]`, message: `no sink named "${sink}"` });
      });
      const condition = rule.when === undefined ? undefined : canonical(rule.when);
      for (let k = 0; k < i; k++) {
        const earlier = rules[k]!;
        if (earlier.action === 'continue' || earlier.sample) continue;
        const verb = earlier.action === 'drop' ? 'drops' : 'keeps';
        if (earlier.when === undefined) {
          warnings.push({
            path: `${prefix}[${i}]`,
            message: `rule "${rule.name}" is unreachable: rule "${earlier.name}" (rules[${k}]) ${verb} every event before it`,
          });
          break;
        }
        if (condition !== undefined && canonical(earlier.when) === condition) {
          warnings.push({
            path: `${prefix}[${i}]`,
            message: `rule "${rule.name}" is shadowed: rule "${earlier.name}" (rules[${k}]) has the same condition and ${verb} those events first`,
          });
          break;
        }
      }
    });
  }
  return { errors, warnings };
}

/** JSON with object keys sorted, so two conditions written in a different key order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
