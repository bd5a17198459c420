// The rules transform: conditions over OCSF fields, actions (drop, keep, route, sample, severity, labels), config
// errors naming the rule and key, unreachable/shadowed rules, routing honoured by the pipeline with correct
// acknowledgements, and `outrider test-rules`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { testRules } from '../../src/cli/test-rules.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { parseConfig } from '../../src/config/load.ts';
import type { Sink, Source, SourceContext } from '../../src/core/component.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Pipeline } from '../../src/core/pipeline.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { classify } from '../../src/ocsf/catalog.ts';
import { baseMetadata, type OcsfEvent } from '../../src/ocsf/event.ts';
import { compileCondition, conditionSchema } from '../../src/policy/conditions.ts';
import { factoryTypes, findFactory } from '../../src/registry.ts';
import { rulesTransformSchema } from '../../src/transforms/rules/config.ts';
import { RuleSet } from '../../src/transforms/rules/engine.ts';
import { CORPORA, recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { rulesConfigText } from './secrets-corpus.ts';

function event(fields: Partial<OcsfEvent> & Record<string, unknown> = {}, uid = '1'): OcsfEvent {
  return {
    ...classify('http_activity', 1, 1),
    time: 1,
    metadata: { ...baseMetadata({ name: 'test' }, 'test'), uid },
    ...fields,
  } as OcsfEvent;
}

const envelope = (e: OcsfEvent): Envelope => ({ event: e, source: 's', raw: JSON.stringify(e) });

function ruleSet(rules: unknown[]): RuleSet {
  return new RuleSet(rulesTransformSchema.parse({ inputs: ['x'], rules }).rules);
}

describe('conditions', () => {
  const holds = (when: unknown, e: OcsfEvent) => compileCondition(conditionSchema.parse(when))(e);
  const e = event({
    http_response: { code: 503 },
    http_request: { url: { path: '/healthz' } },
    device: { container: { image: { name: 'nginx' }, tags: [{ name: 'k8s.namespace.name', value: 'prod' }] } },
  });
  e.metadata.labels = ['redacted'];

  it('compares fields with equals, in, prefix, suffix, contains, regex, numbers, exists, all/any/not', () => {
    expect(holds({ field: 'class_uid', equals: 4002 }, e)).toBe(true);
    expect(holds({ field: 'class_uid', equals: '4002' }, e)).toBe(true);
    expect(holds({ field: 'class_uid', in: [2004, 3002] }, e)).toBe(false);
    expect(holds({ field: 'http_request.url.path', prefix: '/health' }, e)).toBe(true);
    expect(holds({ field: 'http_request.url.path', suffix: 'z' }, e)).toBe(true);
    expect(holds({ field: 'http_request.url.path', contains: 'alth' }, e)).toBe(true);
    expect(holds({ field: 'device.container.image.name', regex: '^ng' }, e)).toBe(true);
    expect(holds({ field: 'http_response.code', gte: 500 }, e)).toBe(true);
    expect(holds({ field: 'http_response.code', lt: 500 }, e)).toBe(false);
    expect(holds({ field: 'actor.user.name', exists: false }, e)).toBe(true);
    expect(holds({ field: 'device.container.tags[k8s.namespace.name]', equals: 'prod' }, e)).toBe(true);
    expect(holds({ field: 'metadata.labels', equals: 'redacted' }, e)).toBe(true);
    expect(
      holds(
        {
          all: [
            { field: 'class_uid', equals: 4002 },
            { any: [{ field: 'severity_id', gte: 4 }, { not: { field: 'http_response.code', lt: 500 } }] },
          ],
        },
        e,
      ),
    ).toBe(true);
  });
});

describe('rule actions', () => {
  it('drop, keep (stops evaluating), severity with consistent caption, labels, route', () => {
    const rules = ruleSet([
      { name: 'health', when: { field: 'http_request.url.path', equals: '/healthz' }, action: 'drop' },
      { name: 'errors', when: { field: 'http_response.code', gte: 500 }, raise_severity: 'High', labels: ['5xx'] },
      { name: 'siem', when: { field: 'severity_id', gte: 4 }, route: ['siem'] },
      { name: 'stop', when: { field: 'http_response.code', equals: 501 }, action: 'keep' },
      { name: 'archive', route: ['archive'] },
    ]);
    const health = envelope(event({ http_request: { url: { path: '/healthz' } } }));
    expect(rules.apply(health)).toBe(false);
    const error = envelope(event({ http_response: { code: 503 } }));
    expect(rules.apply(error)).toBe(true);
    expect(error.event.severity_id).toBe(4);
    expect(error.event.severity).toBe('High');
    expect(error.event.metadata.labels).toEqual(['5xx']);
    expect(error.route).toEqual(['siem', 'archive']);
    const kept = envelope(event({ http_response: { code: 501 } }));
    const trace: Array<{ rule: string; effects: string[] }> = [];
    expect(rules.apply(kept, trace)).toBe(true);
    expect(kept.route).toEqual(['siem']);
    expect(trace.map((t) => t.rule)).toEqual(['errors', 'siem', 'stop']);
    const ok = envelope(event({ severity_id: 5, severity: 'Critical', http_response: { code: 200 } }));
    ruleSet([{ name: 'lower', raise_severity: 2 }]).apply(ok);
    expect(ok.event.severity_id).toBe(5);
    ruleSet([{ name: 'set', set_severity: 2 }]).apply(ok);
    expect([ok.event.severity_id, ok.event.severity]).toEqual([2, 'Low']);
  });

  it('samples deterministically by a key field', () => {
    const rules = ruleSet([{ name: 'debug', sample: { rate: 0.25 } }]);
    const run = () =>
      Array.from({ length: 2000 }, (_, i) => rules.apply(envelope(event({}, `uid-${i}`)))).map((k, i) => (k ? i : -1));
    const first = run().filter((i) => i >= 0);
    expect(first.length).toBeGreaterThan(400);
    expect(first.length).toBeLessThan(600);
    expect(run().filter((i) => i >= 0)).toEqual(first);
  });
});

function configProblems(text: string): string[] {
  try {
    parseConfig(text, findFactory, factoryTypes);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
}

describe('rules config', () => {
  it('errors name the rule and key', () => {
    const problems = configProblems(
      rulesConfigText(`      - {name: a, when: {field: class_uid, equals: 1}, action: drop}
      - {name: b, when: {field: class_uid, gte: 1, lt: 3}}
      - {name: c, when: {field: message, regex: "(unclosed"}}
      - {name: d, when: {all: [{field: x, prefix: 1}]}, set_severity: Huge}`),
    );
    expect(problems).toContain(
      'transforms.policy.rules[2].when.regex: invalid regular expression: Invalid regular expression: /(unclosed/: Unterminated group',
    );
    expect(
      problems.some((p) =>
        p.startsWith('transforms.policy.rules[1].when.field: a field condition needs exactly one operator'),
      ),
    ).toBe(true);
    expect(problems.some((p) => p.startsWith('transforms.policy.rules[3].when.all[0].prefix:'))).toBe(true);
    expect(problems.some((p) => p.startsWith('transforms.policy.rules[3].set_severity:'))).toBe(true);
    expect(configProblems(rulesConfigText('      - {name: e, route: [siem, nowhere]}'))).toEqual([
      'transforms.policy.rules[0].route[1]: no sink named "nowhere"',
    ]);
  });

  it('warns about a route to a sink that does not take the transform events', () => {
    const config = parseConfig(
      rulesConfigText(
        '      - {name: r, route: [raw]}',
        'siem: {type: stdout, inputs: [policy]}, raw: {type: stdout, inputs: [web]}',
      ),
      findFactory,
      factoryTypes,
    );
    expect(config.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      'transforms.policy.rules[0].route[0]: sink "raw" does not receive this transform\'s events: routed events never reach it',
    ]);
  });

  it('warns about unreachable and shadowed rules', () => {
    const config = parseConfig(
      rulesConfigText(`      - {name: noisy, when: {field: class_uid, in: [4002]}, action: drop}
      - {name: same, when: {in: [4002], field: class_uid}, labels: [x]}
      - {name: all-out, action: keep}
      - {name: never, labels: [y]}`),
      findFactory,
      factoryTypes,
    );
    expect(config.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      'transforms.policy.rules[1]: rule "same" is shadowed: rule "noisy" (rules[0]) has the same condition and drops those events first',
      'transforms.policy.rules[3]: rule "never" is unreachable: rule "all-out" (rules[2]) keeps every event before it',
    ]);
  });
});

class HeldSink implements Sink {
  written: string[] = [];
  private gate: Promise<void> = new Promise(() => {});
  constructor(open: boolean) {
    if (open) this.gate = Promise.resolve();
  }
  async write(events: Envelope[]): Promise<void> {
    await this.gate;
    this.written.push(...events.map((e) => e.event.message!));
  }
  async stop(): Promise<void> {}
}

describe('routing in the pipeline', () => {
  it('a sink gets only unrouted events and those routed to it; routing away counts as handled', async () => {
    let ctx!: SourceContext;
    const acked: number[] = [];
    const source: Source = {
      start: async (c) => {
        ctx = c;
      },
      stop: async () => {},
    };
    const siem = new HeldSink(true);
    const archive = new HeldSink(false); // never writes: only events routed away from it may be acknowledged
    const common = (inputs: string[]) => ({
      inputs,
      batch: { max_events: 10, max_bytes: 1 << 20, timeout: 5 },
      queue: { max_events: 100, max_bytes: 1 << 24 },
      retry: { initial_backoff: 5, max_backoff: 20 },
    });
    const rules = findFactory('transform', 'rules')!.create(
      rulesTransformSchema.parse({
        inputs: ['src'],
        rules: [{ name: 'findings', when: { field: 'class_uid', equals: 2004 }, route: ['siem'] }],
      }) as never,
    );
    const p = new Pipeline(
      {
        sources: [{ name: 'src', instance: source }],
        transforms: [{ name: 'policy', instance: rules as never, inputs: ['src'] }],
        sinks: [
          { name: 'siem', instance: siem, common: common(['policy']) },
          { name: 'archive', instance: archive, common: common(['policy']) },
        ],
      },
      { dataDir: tempDir(), hostname: 'h', logger: createLogger('error', {}, () => {}), metrics: new Metrics(false) },
    );
    await p.start();
    const finding = (m: string): Envelope => ({
      event: { ...event(), ...classify('detection_finding', 1, 4), message: m },
      source: 'src',
      raw: m,
    });
    const log = (m: string): Envelope => ({ event: { ...event(), message: m }, source: 'src', raw: m });
    await ctx.emit([finding('f1'), finding('f2')], () => acked.push(1));
    await ctx.emit([finding('f3'), log('l1')], () => acked.push(2));
    expect(await waitFor(() => acked.includes(1), 2000)).toBe(true);
    expect(siem.written).toEqual(['f1', 'f2', 'f3', 'l1']);
    expect(acked).toEqual([1]); // batch 2 holds l1, which the archive has not written
    await p.stop(100);
  });

  it('routes through a real pipeline: findings to the SIEM, everything to the archive, health checks dropped', async () => {
    const dir = tempDir();
    const log = join(dir, 'access.log');
    const lines = readFileSync(join(CORPORA, 'nginx-access', 'crowdsecurity-hub', 'nginx_http-logs.log'), 'utf8')
      .split('\n')
      .filter(Boolean);
    writeFileSync(
      log,
      `${lines.join('\n')}\n10.0.0.1 - - [02/Jan/2026:03:04:05 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.30"\n`,
    );
    const siem = join(dir, 'siem.ndjson');
    const archive = join(dir, 'archive.ndjson');
    const o = await startTestOutrider({
      sources: {
        web: { type: 'file', format: 'nginx', include: [log], poll_interval: '50ms', glob_interval: '100ms' },
      },
      transforms: {
        policy: {
          type: 'rules',
          inputs: ['web'],
          rules: [
            { name: 'health', when: { field: 'http_request.url.path', equals: '/healthz' }, action: 'drop' },
            {
              name: 'errors-to-siem',
              when: { field: 'http_response.code', gte: 400 },
              raise_severity: 'Medium',
              route: ['siem', 'archive'],
            },
            { name: 'rest-to-archive', route: ['archive'] },
          ],
        },
      },
      sinks: {
        siem: { type: 'file', inputs: ['policy'], path: siem, batch: { timeout: '20ms' } },
        archive: { type: 'file', inputs: ['policy'], path: archive, batch: { timeout: '20ms' } },
      },
    });
    try {
      expect(await waitFor(() => readNdjson(archive).length >= lines.length, 15_000)).toBe(true);
      await waitFor(() => false, 300);
      const all = readNdjson<OcsfEvent & { http_response?: { code?: number } }>(archive);
      const findings = readNdjson<OcsfEvent & { http_response?: { code?: number } }>(siem);
      expect(all).toHaveLength(lines.length);
      expect(all.some((e) => e.raw_data?.includes('/healthz'))).toBe(false);
      const errors = all.filter((e) => (e.http_response?.code ?? 0) >= 400);
      expect(errors.length).toBeGreaterThan(0);
      expect(findings.map((e) => e.metadata.uid)).toEqual(errors.map((e) => e.metadata.uid));
      expect(findings.every((e) => e.severity_id === 3 && e.severity === 'Medium')).toBe(true);
      const result = validateOcsf(recordOutput('policy/rules-routing', all));
      if (result) expect(result.failed, result.output).toBe(0);
    } finally {
      await o.stop();
    }
  });
});

describe('outrider test-rules', () => {
  it('prints per event which rules matched and what they would do', async () => {
    const dir = tempDir();
    const input = join(dir, 'access.log');
    writeFileSync(
      input,
      [
        '10.0.0.1 - - [02/Jan/2026:03:04:05 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "kube-probe/1.30"',
        '10.0.0.2 - - [02/Jan/2026:03:04:06 +0000] "GET /admin HTTP/1.1" 403 10 "-" "curl/8.0"',
        '10.0.0.3 - - [02/Jan/2026:03:04:07 +0000] "GET / HTTP/1.1" 200 10 "-" "Mozilla/5.0"',
      ].join('\n'),
    );
    const config = parseConfig(
      rulesConfigText(
        `      - {name: health, when: {field: http_request.url.path, equals: /healthz}, action: drop}
      - {name: denied, when: {field: http_response.code, in: [401, 403]}, set_severity: High, route: [siem]}`,
        'siem: {type: stdout, inputs: [policy]}, archive: {type: stdout, inputs: [policy]}',
      ),
      findFactory,
      factoryTypes,
    );
    let text = '';
    const out = new Writable({
      write(chunk, _enc, done) {
        text += chunk.toString();
        done();
      },
    });
    const summary = await testRules(config, 'nginx', input, out, 'h');
    expect(text.trim().split('\n')).toEqual([
      '#1 4002 HTTP Activity severity=1: policy/health (drop) → dropped',
      '#2 4002 HTTP Activity severity=4: policy/denied (severity → High; route → siem) → to siem',
      '#3 4002 HTTP Activity severity=1: no rule matched → to every sink',
    ]);
    expect(summary).toMatchObject({ events: 3, dropped: 1, routed: 1 });
  });
});
