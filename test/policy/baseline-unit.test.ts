// The baseline transform's decisions on synthetic events (the real-engine test covers execs and host mounts):
// destinations, users and sensitive file writes are learned like executables, and privileged / SYS_ADMIN starts are
// findings without learning.
import { describe, expect, it } from 'vitest';
import type { ComponentContext } from '../../src/core/component.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { classify } from '../../src/ocsf/catalog.ts';
import { baseMetadata, type OcsfEvent } from '../../src/ocsf/event.ts';
import { baselineSchema } from '../../src/transforms/baseline/config.ts';
import { BaselineTransform } from '../../src/transforms/baseline/index.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { tempDir } from '../support/outrider.ts';

const container = { uid: 'c1', name: 'web', image: { uid: 'sha256:1', name: 'shop/web' } };
let n = 0;
function envelope(
  fields: Record<string, unknown>,
  className: Parameters<typeof classify>[0],
  activity: number,
): Envelope {
  const event = {
    ...classify(className, activity, 1),
    time: 1_700_000_000_000 + n,
    metadata: { ...baseMetadata({ name: 't' }, 't'), uid: `uid-${n++}`, profiles: ['host', 'container'] },
    device: { type_id: 0, hostname: 'h', container },
    ...fields,
  } as OcsfEvent;
  return { event, source: 's', raw: '' };
}

async function transform(learnFor: number): Promise<BaselineTransform> {
  const t = new BaselineTransform(
    baselineSchema.parse({ inputs: ['x'], learn_for: learnFor, persist_interval: 60_000 }),
  );
  const ctx: ComponentContext = {
    name: 'baseline',
    logger: createLogger('error', {}, () => {}),
    metrics: new Metrics(false),
    stateDir: tempDir(),
    hostname: 'h',
    setHealthy: () => {},
  };
  await t.start(ctx);
  return t;
}

describe('baseline decisions', () => {
  it('learns destinations, users and sensitive writes, then reports new ones once', async () => {
    const t = await transform(30);
    const connect = (ip: string) => envelope({ dst_endpoint: { ip, port: 443 } }, 'network_activity', 1);
    const login = (name: string) => envelope({ user: { name } }, 'authentication', 1);
    const write = (path: string) => envelope({ file: { name: 'x', path, type_id: 1 } }, 'file_activity', 3);
    expect(t.process([connect('10.0.0.1')])).toHaveLength(1); // learned
    await new Promise((r) => setTimeout(r, 50)); // the window ends
    const out = t.process([
      connect('10.0.0.1'),
      connect('10.0.0.2'),
      login('bob'),
      write('/tmp/a'),
      write('/etc/shadow'),
      connect('10.0.0.2'),
    ]);
    const findings = out.filter((e) => e.event.class_uid === 2004).map((e) => e.event);
    expect(findings.map((f) => (f.unmapped as { baseline: { kind: string; value: string } }).baseline)).toEqual([
      expect.objectContaining({ kind: 'destination', value: '10.0.0.2:443' }),
      expect.objectContaining({ kind: 'user', value: 'bob' }),
      expect.objectContaining({ kind: 'file_write', value: '/etc/shadow' }),
    ]);
    expect(out).toHaveLength(9);
    expect(findings[0]!.evidences).toEqual([
      expect.objectContaining({ uid: out[1]!.event.metadata.uid, dst_endpoint: { ip: '10.0.0.2', port: 443 } }),
    ]);
    const result = validateOcsf(recordOutput('policy/baseline-unit', findings));
    if (result) expect(result.failed, result.output).toBe(0);
    await t.stop();
  });

  it('reports privileged and SYS_ADMIN starts without learning', async () => {
    const t = await transform(3_600_000);
    const start = (security: Record<string, unknown>) =>
      envelope({ app: { name: 'shop/web' }, unmapped: { docker: { security } } }, 'application_lifecycle', 3);
    const facts = { privileged: false, cap_add: [], host_mounts: [] };
    const out = t.process([
      start(facts),
      start({ ...facts, privileged: true }),
      start({ ...facts, cap_add: ['SYS_ADMIN'] }),
    ]);
    const findings = out.filter((e) => e.event.class_uid === 2004).map((e) => e.event);
    expect(
      findings.map((f) => [f.severity_id, (f.unmapped as { baseline: { value: string } }).baseline.value]),
    ).toEqual([
      [4, 'privileged'],
      [4, 'cap_add SYS_ADMIN'],
    ]);
    await t.stop();
  });
});
