// Docker engine events → OCSF (format and mapper), and inspect documents → ContainerRef / security facts, on the
// public corpora and on engine events recorded from this machine's dockerd.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { normalise } from '../../src/cli/normalise.ts';
import {
  containerRefFromInspect,
  DEFAULT_LABEL_FILTER,
  parseImageReference,
  securityFactsFromInspect,
  securityLabels,
} from '../../src/enrich/docker-inspect.ts';
import { nanoToSince } from '../../src/enrich/docker-metadata.ts';
import type { DecodedEvent } from '../../src/formats/decoder.ts';
import { DockerEventsDecoder, parseEngineEvent } from '../../src/formats/docker-events.ts';
import { CORPORA, recordOutput, validateOcsf } from '../support/output.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary OCSF JSON.
type Json = Record<string, any>;

const ID = '02ed55119ce4834e0992161668745cc8788ee441cf23c2acdee199a83fbef005';
const EXEC = 'd0b67567fde21fe4a16a748dd8cfb4a49eee697493169023c5e66836f2388213';
const NET = '9e7e0d428f4c8d1fccd31d57bd594b03666789bb38f8e621f609165ae2ef9ffa';

/** Engine events as dockerd 20.10 streams them (recorded here), one per kind the mapper distinguishes. */
function recorded(type: string, action: string, attributes: Record<string, string>, actor = ID, nano = 1): string {
  const timeNano = `17954254336794239${String(nano).padStart(2, '0')}`;
  return JSON.stringify({
    Type: type,
    Action: action,
    Actor: { ID: actor, Attributes: attributes },
    scope: 'local',
    time: 1795425433,
    // Written as a bare number, as the engine does: more digits than a double holds.
    timeNano: '__NANO__',
  }).replace('"__NANO__"', timeNano);
}

const BASE = { image: 'outrider-test/busybox:1', name: 'ev-probe', a: 'b' };
const LINES = [
  recorded('container', 'create', BASE, ID, 1),
  recorded('network', 'connect', { container: ID, name: 'bridge', type: 'bridge' }, NET, 2),
  recorded('container', 'start', BASE, ID, 3),
  recorded('container', 'exec_create: sh -c echo hi', { ...BASE, execID: EXEC }, ID, 4),
  recorded('container', 'exec_start: sh -c echo hi', { ...BASE, execID: EXEC }, ID, 5),
  recorded('container', 'exec_die', { ...BASE, execID: EXEC, exitCode: '0' }, ID, 6),
  recorded('container', 'kill', { ...BASE, signal: '9' }, ID, 7),
  recorded('container', 'oom', BASE, ID, 8),
  recorded('container', 'die', { ...BASE, exitCode: '137' }, ID, 9),
  recorded('container', 'health_status: unhealthy', BASE, ID, 10),
  recorded('container', 'destroy', BASE, ID, 11),
  recorded('image', 'pull', { name: 'nginx' }, 'nginx:1.27', 12),
  recorded('image', 'delete', { name: 'sha256:0c71' }, `sha256:${'0c'.repeat(32)}`, 13),
  recorded(
    'volume',
    'mount',
    { container: ID, destination: '/data', driver: 'local', propagation: '', 'read/write': 'true' },
    'vol1',
    14,
  ),
  recorded('daemon', 'reload', {}, 'daemon-id', 15),
  '{"not":"an event"}',
  'garbage',
];

function decode(lines: string[]): { out: DecodedEvent[]; problems: string[] } {
  const problems: string[] = [];
  const d = new DockerEventsDecoder({ source: 't', hostname: 'host-a', onProblem: (r) => problems.push(r) });
  const out: DecodedEvent[] = [];
  let offset = 0;
  for (const l of lines) {
    d.push(l, { start: offset, flags: 0 }, out);
    offset += l.length + 1;
  }
  d.flush(out);
  return { out, problems };
}

describe('docker engine events → OCSF', () => {
  it('keeps timeNano exact (it does not fit a double)', () => {
    const ev = parseEngineEvent(
      '{"Type":"container","Action":"start","Actor":{"ID":"x"},"timeNano":1795425433679423964}',
    );
    expect(ev).toMatchObject({ timeNano: '1795425433679423964' });
    expect(nanoToSince('1795425433679423964')).toBe('1795425433.679423964');
  });

  it('maps every kind of event, one OCSF event per engine event, none dropped', () => {
    const { out, problems } = decode(LINES);
    expect(out).toHaveLength(LINES.length);
    expect(problems).toEqual(['malformed_record', 'malformed_record']);
    const e = out.map((d) => d.event as Json);
    const summary = e.map((x) => [x.class_uid, x.activity_id]);
    expect(summary).toEqual([
      [6002, 99], // create
      [0, 99], // network connect
      [6002, 3], // start
      [1007, 99], // exec_create
      [1007, 1], // exec_start
      [1007, 2], // exec_die
      [6002, 99], // kill
      [6002, 99], // oom
      [6002, 4], // die
      [6002, 99], // health_status
      [6002, 2], // destroy
      [6002, 1], // image pull
      [6002, 2], // image delete
      [1001, 12], // volume mount
      [0, 99], // daemon reload
      [0, 0], // not an event
      [0, 0], // garbage
    ]);
    expect(e[0]!.activity_name).toBe('Create');
    expect(e[0]!.time).toBe(1795425433679);
    expect(e[0]!.metadata.original_time).toBe('1795425433679423901');
    // Offline there is no image id, and OCSF wants one in any `image` object: the reference the engine gave stands in
    // for it (issue 19.10: the image and labels where OCSF puts them, not only in `unmapped`).
    expect(e[0]!.device.container).toEqual({
      uid: ID,
      name: 'ev-probe',
      runtime: 'docker',
      labels: ['a=b'],
      image: { uid: 'outrider-test/busybox:1', name: 'outrider-test/busybox', tags: [{ name: 'tag', value: '1' }] },
    });
    expect(e[0]!.app).toEqual({ name: 'outrider-test/busybox', version: '1' });
    expect(e[1]!.device.container.uid).toBe(ID);
    expect(e[1]!.activity_name).toBe('Network Connect');
    expect(e[4]!.process).toMatchObject({ uid: EXEC, cmd_line: 'sh -c echo hi', name: 'sh', container: { uid: ID } });
    expect(e[4]!.metadata.correlation_uid).toBe(EXEC);
    expect(e[5]).toMatchObject({ exit_code: 0, status_id: 1 });
    expect(e[6]!.status_detail).toBe('signal 9');
    expect(e[7]!.severity_id).toBe(3);
    expect(e[8]).toMatchObject({ status_code: '137', status_id: 2, status_detail: 'exit code 137' });
    expect(e[9]!.status_detail).toBe('unhealthy');
    expect(e[11]!.app).toEqual({ name: 'nginx', version: 'latest' });
    expect(e[12]!.app.uid).toBe(`sha256:${'0c'.repeat(32)}`);
    // The volume names the mount (file.uid), so an unmount, which names no destination, pairs with it.
    expect(e[13]!.file).toEqual({ name: 'data', path: '/data', type_id: 2, uid: 'vol1' });
    expect(e[13]!.device.container.uid).toBe(ID);
    for (const x of e) expect(x.raw_data).toBeTypeOf('string');
    expect(e[16]!.unmapped.outrider_problems[0]).toMatch(/malformed docker event/);
    const result = validateOcsf(recordOutput('unit/docker-events-recorded', e));
    if (result) expect(result.failed, result.output).toBe(0);
  });

  it('normalises the public corpora (JSON lines and a pretty-printed API sample)', async () => {
    const events: Json[] = [];
    const counts: number[] = [];
    for (const file of ['docker-cli/docker-events-json.golden.jsonl', 'docker-java/events-docs1.json']) {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      const summary = await normalise('docker-events', join(CORPORA, 'docker-events', file), out, 'host-a');
      counts.push(summary.events);
      events.push(
        ...Buffer.concat(chunks)
          .toString('utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Json),
      );
    }
    expect(counts).toEqual([4, 1]);
    expect(events.map((e) => e.activity_name)).toEqual(['Create', 'Start', 'Attach', 'Stop', 'Create']);
    // The docker CLI's golden file uses made-up times (1 s after the epoch): kept in original_time, flagged.
    expect(events[0]!.unmapped.outrider_problems[0]).toMatch(/implausible timeNano/);
    expect(events[4]!.device.container).toMatchObject({ name: 'my-container', runtime: 'docker' });
    const result = validateOcsf(recordOutput('unit/docker-events-corpora', events));
    if (result) expect(result.failed, result.output).toBe(0);
  });
});

describe('inspect documents', () => {
  const inspect = (name: string) =>
    JSON.parse(readFileSync(join(CORPORA, 'docker-inspect', 'docker-java', name), 'utf8')) as Parameters<
      typeof containerRefFromInspect
    >[0];

  it('describes a container from the public inspect samples', () => {
    const ref = containerRefFromInspect(inspect('container-inspect-1.24.json'), undefined, DEFAULT_LABEL_FILTER);
    expect(ref).toEqual({
      id: 'fc1243c01bbb791d9eca64204d76f72fc47fbebbca892d7dd0a5cd0e4e346045',
      runtime: 'docker',
      name: 'small_hodgkin',
      image: {
        id: 'c51f86c283408d1749d066333f7acd5d33b053b003a61ff6a7b36819ddcbc7b7',
        name: 'busybox',
        tag: 'latest',
      },
    });
    const lcow = containerRefFromInspect(inspect('container-inspect-1.38-lcow.json'), undefined, DEFAULT_LABEL_FILTER);
    expect(lcow.image).toMatchObject({ name: 'microsoft/nanoserver', tag: 'latest' });
    expect(securityLabels(securityFactsFromInspect(inspect('container-json-1.22.json')))).toEqual({
      labels: [],
      severityId: undefined,
    });
  });

  it('takes the image digest from the image document and copies only allow-listed labels', () => {
    const ref = containerRefFromInspect(
      {
        Id: ID,
        Name: '/web',
        Image: `sha256:${'ab'.repeat(32)}`,
        Config: {
          Image: 'registry.example.com:5000/team/web:2.1',
          Labels: { 'app.kubernetes.io/name': 'web', 'deploy.token': 's3cr3t', 'io.kubernetes.pod.namespace': 'prod' },
        },
      },
      {
        Id: `sha256:${'ab'.repeat(32)}`,
        RepoDigests: [`registry.example.com:5000/team/web@sha256:${'cd'.repeat(32)}`],
      },
      DEFAULT_LABEL_FILTER,
    );
    expect(ref.image).toEqual({
      id: `sha256:${'ab'.repeat(32)}`,
      name: 'registry.example.com:5000/team/web',
      tag: '2.1',
      digest: `sha256:${'cd'.repeat(32)}`,
    });
    // io.kubernetes.* identity goes to k8s (container tags), not again to labels; unknown keys are not copied.
    expect(ref.labels).toEqual({ 'app.kubernetes.io/name': 'web' });
    expect(ref.k8s).toEqual({ namespace: 'prod' });
  });

  it('parses image references', () => {
    expect(parseImageReference('nginx')).toEqual({ name: 'nginx', tag: 'latest' });
    expect(parseImageReference('localhost:5000/a/b')).toEqual({ name: 'localhost:5000/a/b', tag: 'latest' });
    expect(parseImageReference(`nginx@sha256:${'e'.repeat(64)}`)).toEqual({
      name: 'nginx',
      digest: `sha256:${'e'.repeat(64)}`,
    });
    expect(parseImageReference(`sha256:${'e'.repeat(64)}`)).toEqual({});
  });

  it('grades risky configurations', () => {
    const facts = securityFactsFromInspect({
      Id: ID,
      HostConfig: {
        Privileged: false,
        CapAdd: ['CAP_NET_RAW'],
        NetworkMode: 'host',
        SecurityOpt: ['seccomp=unconfined'],
      },
      Mounts: [
        { Type: 'bind', Source: '/srv/data', Destination: '/data', RW: true },
        { Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock', RW: true },
        { Type: 'volume', Source: '/var/lib/docker/volumes/x/_data', Destination: '/x', RW: true },
      ],
    });
    expect(facts.host_mounts.map((m) => [m.source, m.sensitive])).toEqual([
      ['/srv/data', false],
      ['/var/run/docker.sock', true],
    ]);
    expect(securityLabels(facts)).toEqual({
      labels: ['cap_add:NET_RAW', 'host_network', 'host_mount:/var/run/docker.sock', 'seccomp:unconfined'],
      severityId: 4,
    });
  });
});
