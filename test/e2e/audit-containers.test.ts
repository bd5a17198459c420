// Host audit records attributed to containers end to end: a real auditd rule (our own key, removed afterwards)
// sees a process started in a real container; the `file` source attributes its pid to the container through
// /proc/<pid>/cgroup, and the docker_metadata transform adds the container's name and image.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { addAuditRule, auditRule, deleteAuditRule, liveAuditSource } from '../support/audit.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const ok = await requireComponents('docker', 'auditd');
const KEY = `outrider-lead-${process.pid}`;
// Only processes of a uid no one else uses: the rule sees our container's process and nothing else.
const UID = '4242';
const RULE = auditRule(KEY, UID, ['execve']);

describe.skipIf(!ok)('auditd records of container processes', () => {
  let outrider: TestOutrider;
  let out: string;
  let container: string | undefined;

  beforeAll(async () => {
    const image = await ensureTestImage();
    await addAuditRule(RULE);
    const dir = tempDir();
    out = join(dir, 'out.ndjson');
    outrider = await startTestOutrider(
      {
        sources: {
          audit: liveAuditSource,
        },
        transforms: { audit_enriched: { type: 'docker_metadata', inputs: ['audit'] } },
        sinks: { out: { type: 'file', inputs: ['audit_enriched'], path: out, batch: { timeout: '20ms' } } },
      },
      join(dir, 'data'),
      'info',
    );
    container = await docker('run', '-d', '--name', `audited-${process.pid}`, image, 'sh', '-c', 'sleep 60');
  });

  afterAll(async () => {
    await deleteAuditRule(RULE);
    if (container) await docker('rm', '-f', container).catch(() => undefined);
    await outrider?.stop();
  });

  it('names the container and image of a process launched inside it', async () => {
    // A process that stays alive long enough for its pid to be looked up when its record is read.
    await docker('exec', '-d', '-u', UID, container!, 'sleep', '7');
    const mine = () =>
      readNdjson<
        OcsfEvent & { process?: { cmd_line?: string; container?: { name?: string; image?: { name?: string } } } }
      >(out).filter((e) => e.class_uid === 1007 && e.process?.cmd_line === 'sleep 7');
    expect(await waitFor(() => mine().length > 0, 20_000)).toBe(true);
    const event = mine()[0]!;
    expect(event.process?.container?.name).toBe(`audited-${process.pid}`);
    expect(event.process?.container?.image?.name).toBe('outrider-test/busybox');
    expect((event.device as { container?: { uid?: string } }).container?.uid).toBe(container);
    const v = validateOcsf(recordOutput('e2e/audit-containers', mine()));
    if (v) expect(v.failed, v.output).toBe(0);
  });
});
