// The file source on a directory of scanner reports (format trivy / grype): whole documents read when they appear and
// again when they change (rewritten in place, or renamed over), each content emitted once, across restarts; a report
// caught half-written is waited for, one that stays broken is reported once.
import { readFileSync, renameSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { OcsfEvent } from '../../src/ocsf/event.ts';
import { CORPORA, recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, startTestOutrider, type TestOutrider, tempDir, waitFor } from '../support/outrider.ts';

const REPORTS = join(CORPORA, 'scan-reports');
const alpine = readFileSync(join(REPORTS, 'trivy-alpine-310.json'), 'utf8');
const chainguard = readFileSync(join(REPORTS, 'grype-chainguard-ruby-test.json'), 'utf8');
const running: TestOutrider[] = [];

afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

async function startReports(dir: string, out: string, dataDir = tempDir(), extra: Record<string, unknown> = {}) {
  const o = await startTestOutrider(
    {
      sources: {
        reports: {
          type: 'file',
          format: 'trivy',
          include: [join(dir, '*.json')],
          glob_interval: '100ms',
          checkpoint_interval: '50ms',
          ...extra,
        },
      },
      sinks: { out: { type: 'file', inputs: ['reports'], path: out, batch: { timeout: '20ms' } } },
    },
    dataDir,
  );
  running.push(o);
  return o;
}

async function failures(o: TestOutrider): Promise<string> {
  return o.metrics.registry.getSingleMetricAsString('outrider_input_kept_raw_total');
}

const findingUids = (events: OcsfEvent[]) =>
  events.filter((e) => e.class_uid === 2002).map((e) => (e.finding_info as { uid: string }).uid);
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('file source, scanner reports', () => {
  it('reads every report of a directory, again when one is rewritten or replaced, never for a touch', async () => {
    const dir = tempDir();
    const out = join(tempDir(), 'out.ndjson');
    writeFileSync(join(dir, 'alpine.json'), alpine);
    writeFileSync(join(dir, 'ruby.json'), chainguard);
    await startReports(dir, out);
    expect(await waitFor(() => readNdjson(out).length === 9, 15_000)).toBe(true);
    const first = readNdjson<OcsfEvent>(out);
    expect(first.filter((e) => e.class_uid === 6007).map((e) => e.metadata.product.name)).toEqual(
      expect.arrayContaining(['Trivy', 'Grype']),
    );

    // A scanner's rerun written in place (O_TRUNC, then the new report).
    writeFileSync(join(dir, 'alpine.json'), alpine.replace('2021-08-25T12:20:30', '2026-01-01T00:00:00'));
    expect(await waitFor(() => readNdjson(out).length === 14, 15_000)).toBe(true);
    // A touch changes nothing.
    utimesSync(join(dir, 'ruby.json'), new Date(), new Date());
    // A rerun renamed over the old report (written beside it first, under a name the glob does not match).
    writeFileSync(join(dir, 'alpine.tmp'), alpine.replace('2021-08-25T12:20:30', '2026-01-02T00:00:00'));
    renameSync(join(dir, 'alpine.tmp'), join(dir, 'alpine.json'));
    expect(await waitFor(() => readNdjson(out).length === 19, 15_000)).toBe(true);
    await settle(500);
    const events = readNdjson<OcsfEvent>(out);
    expect(events).toHaveLength(19);
    // Each rerun: the same findings (same uids), a new report (new correlation uid).
    const alpineUids = findingUids(first.filter((e) => e.metadata.product.name === 'Trivy'));
    expect(findingUids(events.slice(9, 14))).toEqual(alpineUids);
    expect(findingUids(events.slice(14))).toEqual(alpineUids);
    expect(new Set(events.slice(9).map((e) => e.metadata.correlation_uid)).size).toBe(2);
    const result = validateOcsf(recordOutput('sources/file-scan-reports', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('waits for a report being written; reports one that stays broken, once', async () => {
    const dir = tempDir();
    const out = join(tempDir(), 'out.ndjson');
    const o = await startReports(dir, out, undefined, { reports: { settle: '1s' } });
    writeFileSync(join(dir, 'slow.json'), alpine.slice(0, 3000));
    await settle(400);
    writeFileSync(join(dir, 'slow.json'), alpine);
    expect(await waitFor(() => readNdjson(out).length === 5, 15_000)).toBe(true);
    expect(await failures(o)).not.toMatch(/malformed_report/);

    writeFileSync(join(dir, 'broken.json'), alpine.slice(0, 3000));
    expect(await waitFor(() => readNdjson(out).length === 6, 15_000)).toBe(true);
    await settle(1500);
    const events = readNdjson<OcsfEvent>(out);
    expect(events).toHaveLength(6);
    expect(events[5]).toMatchObject({ class_uid: 0, metadata: { log_source: join(dir, 'broken.json') } });
    expect(events[5]!.message).toMatch(/^scan report not read: not JSON/);
    expect(await failures(o)).toMatch(/reason="malformed_report",component_kind="source",component_type="file"} 1$/m);
  });

  it('does not emit a delivered report again after a restart; a changed one it does', async () => {
    const dir = tempDir();
    const out = join(tempDir(), 'out.ndjson');
    const data = tempDir();
    writeFileSync(join(dir, 'alpine.json'), alpine);
    const o = await startReports(dir, out, data);
    expect(await waitFor(() => readNdjson(out).length === 5, 15_000)).toBe(true);
    await o.stop();
    running.splice(0);
    await startReports(dir, out, data);
    await settle(800);
    expect(readNdjson(out)).toHaveLength(5);
    writeFileSync(join(dir, 'alpine.json'), alpine.replace('2021-08-25T12:20:30', '2026-03-01T00:00:00'));
    expect(await waitFor(() => readNdjson(out).length === 10, 15_000)).toBe(true);
  });

  it('with read_from: end, reports already there at the first start count as delivered', async () => {
    const dir = tempDir();
    const out = join(tempDir(), 'out.ndjson');
    writeFileSync(join(dir, 'alpine.json'), alpine);
    await startReports(dir, out, undefined, { read_from: 'end' });
    await settle(600);
    expect(readNdjson(out)).toHaveLength(0);
    writeFileSync(join(dir, 'ruby.json'), chainguard);
    expect(await waitFor(() => readNdjson(out).length === 4, 15_000)).toBe(true);
  });
});
