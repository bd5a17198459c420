// The baseline on host audit records of a real container (real auditd, our own rule and key, removed afterwards):
// what the container runs and connects to while learned is normal; afterwards a binary dropped in /tmp and a new
// destination are exactly the two findings. Processes stay alive a few seconds so their pids can still be
// attributed to the container when their records are read.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addAuditRule, auditRule, deleteAuditRule, liveAuditSource } from '../support/audit.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary OCSF JSON.
type Json = Record<string, any>;

const ok = await requireComponents('docker', 'auditd');
const KEY = `outrider-baseline-${process.pid}`;
// Only a uid nobody else uses: the rule sees our container's processes and nothing else.
const UID = '4243';
const RULE = auditRule(KEY, UID, ['execve', 'connect']);

describe.skipIf(!ok)('baseline on auditd records of a real container', () => {
  let outrider: TestOutrider | undefined;
  let out = '';
  let container = '';

  beforeAll(async () => {
    const image = await ensureTestImage();
    container = await docker('run', '-d', image, 'sleep', '120');
    // Made as root, so not audited (the rule watches uid 4243 only): listeners that keep a connection open (their
    // stdin stays open, so the connecting client lives on too; 8080 takes two connections one after the other), and a
    // copy of a binary.
    await docker('exec', '-d', container, 'sh', '-c', 'sleep 30 | nc -l -p 8080; sleep 60 | nc -l -p 8080');
    await docker('exec', '-d', container, 'sh', '-c', 'sleep 60 | nc -l -p 9090');
    await docker('exec', container, 'busybox', 'cp', '/bin/busybox', '/tmp/sleep');
    await addAuditRule(RULE);
    const dir = tempDir();
    out = join(dir, 'out.ndjson');
    outrider = await startTestOutrider(
      {
        sources: {
          audit: liveAuditSource,
        },
        transforms: {
          meta: { type: 'docker_metadata', inputs: ['audit'] },
          baseline: { type: 'baseline', inputs: ['meta'], learn_for: '5s', persist_interval: '100ms' },
        },
        sinks: { out: { type: 'file', inputs: ['baseline'], path: out, batch: { timeout: '20ms' }, fsync: false } },
      },
      join(dir, 'data'),
      'info',
    );
  });

  afterAll(async () => {
    await deleteAuditRule(RULE);
    if (container) await docker('rm', '-f', container).catch(() => undefined);
    await outrider?.stop();
    const events = readNdjson<Json>(out);
    if (events.length > 0) {
      const v = validateOcsf(recordOutput('policy/baseline-auditd', events));
      if (v) expect(v.failed, v.output).toBe(0);
    }
  });

  const mine = () =>
    readNdjson<Json>(out).filter(
      (e) => e.device?.container?.uid === container || e.evidences?.[0]?.container?.uid === container,
    );
  const findings = () => mine().filter((e) => e.class_uid === 2004);
  const connects = (port: number) => mine().filter((e) => e.class_uid === 4001 && e.dst_endpoint?.port === port).length;

  it('learns the normal work, then finds exactly the dropped binary and the new destination', async () => {
    // Normal work while learning: a shell, sleep, and a connection to 127.0.0.1:8080 inside the container.
    await docker('exec', '-d', '-u', UID, container, 'sh', '-c', 'sleep 3 | nc 127.0.0.1 8080');
    expect(await waitFor(() => connects(8080) > 0, 15_000)).toBe(true);
    expect(findings()).toEqual([]);
    await new Promise((r) => setTimeout(r, 5500)); // the learning window ends
    await docker('exec', '-d', '-u', UID, container, 'sh', '-c', 'sleep 3 | nc 127.0.0.1 8080'); // learned: nothing
    await docker('exec', '-d', '-u', UID, container, '/tmp/sleep', '3'); // a binary never seen
    await docker('exec', '-d', '-u', UID, container, 'sh', '-c', 'sleep 3 | nc 127.0.0.1 9090'); // a new destination
    expect(await waitFor(() => findings().length >= 2 && connects(9090) > 0, 20_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
    const got = findings().map((f) => [f.unmapped.baseline.kind, f.unmapped.baseline.value]);
    expect(got.sort()).toEqual([
      ['destination', '127.0.0.1:9090'],
      ['executable', '/tmp/sleep'],
    ]);
  });
});
