// Evaluates a rules transform's rules, in order, on one event: sample, severity, labels, route, then the action.
import type { Envelope } from '../../core/envelope.ts';
import { compileCondition, type Predicate, parseFieldSelector, selectValues } from '../../policy/conditions.ts';
import { type RuleConfig, severityCaption, severityId } from './config.ts';

/** What one rule did to an event (for `outrider test-rules`). */
export interface RuleTrace {
  rule: string;
  effects: string[];
}

interface CompiledRule {
  config: RuleConfig;
  when: Predicate | undefined;
  sampleKey: ReturnType<typeof parseFieldSelector> | undefined;
  /** Events whose key hashes below this (of 2^32) are kept by `sample`. */
  sampleBelow: number;
  setSeverity: number | undefined;
  raiseSeverity: number | undefined;
}

export class RuleSet {
  private readonly rules: CompiledRule[];

  constructor(rules: readonly RuleConfig[]) {
    this.rules = rules.map((config) => ({
      config,
      when: config.when ? compileCondition(config.when) : undefined,
      sampleKey: config.sample ? parseFieldSelector(config.sample.key) : undefined,
      sampleBelow: config.sample ? Math.floor(config.sample.rate * 2 ** 32) : 0,
      setSeverity: config.set_severity !== undefined ? severityId(config.set_severity) : undefined,
      raiseSeverity: config.raise_severity !== undefined ? severityId(config.raise_severity) : undefined,
    }));
  }

  /** Applies the rules to one event in place; false when it is dropped. `trace` receives what each matching rule did. */
  apply(envelope: Envelope, trace?: RuleTrace[]): boolean {
    const event = envelope.event;
    for (const rule of this.rules) {
      if (rule.when && !rule.when(event)) continue;
      const { config } = rule;
      const effects: string[] | undefined = trace ? [] : undefined;
      if (trace) trace.push({ rule: config.name, effects: effects! });
      if (rule.sampleKey && !this.sampled(envelope, rule)) {
        effects?.push(`sampled out (rate ${config.sample!.rate})`);
        return false;
      }
      if (rule.sampleKey) effects?.push(`sampled in (rate ${config.sample!.rate})`);
      const severity = rule.setSeverity ?? rule.raiseSeverity;
      if (severity !== undefined && (rule.setSeverity !== undefined || event.severity_id < severity)) {
        if (event.severity_id !== severity) {
          event.severity_id = severity;
          event.severity = severityCaption(severity);
          envelope.encoded = undefined;
          effects?.push(`severity → ${event.severity}`);
        }
      }
      if (config.labels) {
        event.metadata.labels ??= [];
        for (const label of config.labels)
          if (!event.metadata.labels.includes(label)) event.metadata.labels.push(label);
        envelope.encoded = undefined;
        effects?.push(`labels + ${config.labels.join(', ')}`);
      }
      if (config.route) {
        const route = envelope.route ?? [];
        for (const sink of config.route) if (!route.includes(sink)) route.push(sink);
        envelope.route = route;
        effects?.push(`route → ${route.join(', ')}`);
      }
      if (config.action === 'drop') {
        effects?.push('drop');
        return false;
      }
      if (config.action === 'keep') {
        effects?.push('keep (stop)');
        return true;
      }
    }
    return true;
  }

  private sampled(envelope: Envelope, rule: CompiledRule): boolean {
    const values = selectValues(envelope.event, rule.sampleKey!);
    const key = values.length > 0 ? String(values[0]) : envelope.raw;
    return fnv1a(key) < rule.sampleBelow;
  }
}

/** 32-bit FNV-1a: a stable, well-spread hash of the sampling key (not a security boundary). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
