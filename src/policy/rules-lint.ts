// Checks of rules transforms that need the whole config: routes must name existing sinks (error), and rules that
// can never apply (after an unconditional drop/keep, or behind an earlier drop/keep with the same condition) are
// reported as warnings by `outrider check-config`.
import type { ConfigProblem } from '../config/errors.ts';
import type { RuleConfig } from '../transforms/rules/config.ts';

export interface RulesComponent {
  name: string;
  type: string;
  config: Record<string, unknown> & { inputs?: string[] };
}

export function lintRules(
  transforms: readonly RulesComponent[],
  sinkInputs: ReadonlyArray<{ name: string; inputs: unknown }>,
): { errors: ConfigProblem[]; warnings: ConfigProblem[] } {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const sinks = new Set(sinkInputs.map((s) => s.name));
  const reach = downstreamSinks(transforms, sinkInputs);
  for (const t of transforms) {
    if (t.type !== 'rules') continue;
    const rules = t.config.rules as RuleConfig[];
    const prefix = `transforms.${t.name}.rules`;
    rules.forEach((rule, i) => {
      rule.route?.forEach((sink, j) => {
        if (!sinks.has(sink)) errors.push({ path: `${prefix}[${i}].route[${j}]`, message: `no sink named "${sink}"` });
        else if (!reach(t.name).has(sink))
          warnings.push({
            path: `${prefix}[${i}].route[${j}]`,
            message: `sink "${sink}" does not receive this transform's events: routed events never reach it`,
          });
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

/** The sinks that receive a component's events, directly or through other transforms. */
function downstreamSinks(
  transforms: readonly RulesComponent[],
  sinks: ReadonlyArray<{ name: string; inputs: unknown }>,
): (name: string) => Set<string> {
  const inputsOf = (inputs: unknown): string[] => (Array.isArray(inputs) ? inputs : []);
  return (start) => {
    const found = new Set<string>();
    const seen = new Set<string>();
    const visit = (name: string) => {
      if (seen.has(name)) return;
      seen.add(name);
      for (const s of sinks) if (inputsOf(s.inputs).includes(name)) found.add(s.name);
      for (const t of transforms) if (inputsOf(t.config.inputs).includes(name)) visit(t.name);
    };
    visit(start);
    return found;
  };
}

/** JSON with object keys sorted, so two conditions written in a different key order compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
