// The baseline transform against the real Docker engine: execs while a container image is learned are its normal
// behaviour; after the window an unexpected binary is a 2004 finding, the learned ones are not; a privileged start is
// a finding at once. The learned state survives a restart.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker, ensureTestImage } from '../support/docker.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary OCSF JSON.
type Json = Record<string, any>;

const ok = await requireComponents('docker', 'root');

describe.skipIf(!ok)('baseline on the real engine', () => {
  let dir = '';
  let outFile = '';
  let outrider: TestOutrider | undefined;
  let image = '';
  const containers: string[] = [];

  const config = () => ({
    sources: { engine: { type: 'docker_events', checkpoint_interval: '100ms' } },
    transforms: {
      meta: { type: 'docker_metadata', inputs: ['engine'] },
      baseline: { type: 'baseline', inputs: ['meta'], learn_for: '3s', persist_interval: '100ms' },
    },
    sinks: { out: { type: 'file', path: outFile, inputs: ['baseline'], batch: { timeout: '50ms' }, fsync: false } },
  });

  beforeAll(async () => {
    image = await ensureTestImage();
    dir = tempDir('outrider-baseline-');
    outFile = join(dir, 'out.ndjson');
    outrider = await startTestOutrider(config(), join(dir, 'data'), 'info');
  });

  afterAll(async () => {
    await outrider?.stop();
    for (const id of containers) await docker('rm', '-f', id).catch(() => undefined);
    const events = readNdjson<Json>(outFile);
    if (events.length > 0) {
      const result = validateOcsf(recordOutput('policy/baseline-docker', events));
      if (result) expect(result.failed, result.output).toBe(0);
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const mine = (e: Json) => containers.some((id) => e.evidences?.[0]?.container?.uid === id);
  const findings = () => readNdjson<Json>(outFile).filter((e) => e.class_uid === 2004 && mine(e));
  const execs = (id: string) =>
    readNdjson<Json>(outFile).filter((e) => e.class_uid === 1007 && e.device?.container?.uid === id).length;

  it('learns execs, then reports an unexpected binary and a start with /etc of the host mounted, nothing for normal work', async () => {
    const name = `outrider-baseline-${randomUUID().slice(0, 8)}`;
    const id = (await docker('run', '-d', '--name', name, image, 'sleep', '120')).trim();
    containers.push(id);
    await docker('exec', id, 'ls', '/');
    await docker('exec', id, 'cat', '/etc/hostname');
    expect(await waitFor(() => execs(id) >= 2, 10_000)).toBe(true);
    expect(findings()).toEqual([]);
    await new Promise((r) => setTimeout(r, 3500)); // the learning window ends
    await docker('exec', id, 'ls', '/etc'); // learned: no finding
    await docker('exec', id, 'id'); // never seen: a finding
    // (--privileged cannot start inside this CI's own container; a host /etc mount is as known-bad and starts.)
    const hostEtc = (await docker('run', '-d', '-v', '/etc:/host-etc:ro', image, 'sleep', '120')).trim();
    containers.push(hostEtc);
    expect(await waitFor(() => findings().length >= 2, 15_000)).toBe(true);
    await waitFor(() => execs(id) >= 4, 5000);
    await new Promise((r) => setTimeout(r, 500));
    const got = findings();
    expect(got.map((f) => [f.unmapped.baseline.kind, f.unmapped.baseline.value]).sort()).toEqual([
      ['executable', 'id'],
      ['known_bad_start', 'host path /etc mounted at /host-etc'],
    ]);
    const unexpected = got.find((f) => f.unmapped.baseline.kind === 'executable')!;
    expect(unexpected.severity_id).toBe(3);
    expect(unexpected.finding_info.analytic.type).toBe('Behavioral');
    expect(unexpected.evidences[0].container.uid).toBe(id);
    const launch = readNdjson<Json>(outFile).find(
      (e) => e.class_uid === 1007 && e.activity_id === 1 && e.process?.name === 'id' && e.device?.container?.uid === id,
    );
    expect(launch).toBeDefined();
    expect(unexpected.evidences[0].data.event).toMatchObject({
      class_uid: 1007,
      time: launch!.time,
      original_time: launch!.metadata.original_time,
    });
    expect(got.find((f) => f.unmapped.baseline.kind === 'known_bad_start')!.severity_id).toBe(4);
  });

  it('keeps the learned state across a restart', async () => {
    await outrider!.stop();
    const state = join(dir, 'data', 'state', 'baseline', 'baseline.json');
    expect(existsSync(state)).toBe(true);
    const saved = JSON.parse(readFileSync(state, 'utf8')) as Json;
    expect(saved.workloads[image.split(':')[0]!]?.items.executable).toEqual(
      expect.arrayContaining(['ls', 'cat', 'id']),
    );
    outrider = await startTestOutrider(config(), join(dir, 'data'), 'info');
    const before = findings().length;
    await docker('exec', containers[0]!, 'id');
    await waitFor(() => execs(containers[0]!) >= 5, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(findings().length).toBe(before);
  });
});
