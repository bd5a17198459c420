// `outrider test-rules`: runs the rules transforms of a config over an input file (decoded like `normalise`) and
// prints, per event, which rules matched and what they would do: a dry run of a policy before deploying it.
import type { Writable } from 'node:stream';
import type { OutriderConfig } from '../config/load.ts';
import type { Envelope } from '../core/envelope.ts';
import type { RulesTransformConfig } from '../transforms/rules/config.ts';
import { RuleSet, type RuleTrace } from '../transforms/rules/engine.ts';
import { decodeFile } from './normalise.ts';

export interface TestRulesSummary {
  events: number;
  dropped: number;
  routed: number;
  /** Events each rule matched, by transform and rule name. */
  matches: Record<string, number>;
}

/** Rules transforms of the config, in config order (all of them, or the one named). */
export function rulesTransforms(config: OutriderConfig, only?: string): Array<{ name: string; rules: RuleSet }> {
  const found = config.transforms
    .filter((t) => t.type === 'rules' && (only === undefined || t.name === only))
    .map((t) => ({ name: t.name, rules: new RuleSet((t.config as unknown as RulesTransformConfig).rules) }));
  if (found.length === 0)
    throw new Error(only ? `no rules transform named "${only}" in the config` : 'the config has no rules transform');
  return found;
}

export async function testRules(
  config: OutriderConfig,
  formatName: string,
  file: string,
  out: Writable,
  hostname: string,
  only?: string,
): Promise<TestRulesSummary> {
  const transforms = rulesTransforms(config, only);
  const summary: TestRulesSummary = { events: 0, dropped: 0, routed: 0, matches: {} };
  await decodeFile(
    formatName,
    file,
    hostname,
    async (events) => {
      let text = '';
      for (const decoded of events) {
        summary.events++;
        const envelope: Envelope = { event: decoded.event, source: 'test-rules', raw: decoded.raw };
        const traces: Array<{ transform: string; matched: RuleTrace[] }> = [];
        let kept = true;
        for (const t of transforms) {
          const matched: RuleTrace[] = [];
          kept = t.rules.apply(envelope, matched);
          traces.push({ transform: t.name, matched });
          for (const m of matched)
            summary.matches[`${t.name}/${m.rule}`] = (summary.matches[`${t.name}/${m.rule}`] ?? 0) + 1;
          if (!kept) break;
        }
        if (!kept) summary.dropped++;
        else if (envelope.route) summary.routed++;
        const e = decoded.event;
        const outcome = !kept ? 'dropped' : envelope.route ? `to ${envelope.route.join(', ')}` : 'to every sink';
        const rules = traces
          .flatMap((t) =>
            t.matched.map((m) => `${t.transform}/${m.rule}${m.effects.length ? ` (${m.effects.join('; ')})` : ''}`),
          )
          .join(', ');
        text += `#${summary.events} ${e.class_uid} ${String(e.class_name ?? '')} severity=${e.severity_id}: ${rules || 'no rule matched'} → ${outcome}\n`;
      }
      if (!out.write(text)) await new Promise((r) => out.once('drain', r));
    },
    { redaction: config.redaction },
  );
  return summary;
}
