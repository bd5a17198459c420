// Policy rules over OCSF fields: drop, keep, route to named sinks, sample, set or raise severity, add labels.
import type { Transform, TransformFactory } from '../../core/component.ts';
import type { Envelope } from '../../core/envelope.ts';
import { type RulesTransformConfig, rulesTransformSchema } from './config.ts';
import { RuleSet } from './engine.ts';

export class RulesTransform implements Transform {
  private readonly rules: RuleSet;

  constructor(config: RulesTransformConfig) {
    this.rules = new RuleSet(config.rules);
  }

  process(events: Envelope[]): Envelope[] {
    // The input array may be the source's own: dropping builds a new one instead of shrinking it.
    let kept: Envelope[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const envelope = events[i]!;
      if (this.rules.apply(envelope)) kept?.push(envelope);
      else kept ??= events.slice(0, i);
    }
    return kept ?? events;
  }
}

export const rulesTransformFactory: TransformFactory<RulesTransformConfig> = {
  kind: 'transform',
  type: 'rules',
  description:
    'Declarative policy over OCSF fields: drop, keep, route to named sinks, sample deterministically, set or raise severity, add labels.',
  configSchema: rulesTransformSchema,
  create: (config) => new RulesTransform(config),
};
