// Input formats by name, shared by `outrider normalise --format` and the tailing sources.
import { ContainerLogDecoder } from '../sources/container_logs/decoder.ts';
import { containerFromPath } from '../sources/container_logs/path-meta.ts';
import { auditdFormat } from './auditd.ts';
import type { DocumentFormat, InputFormat, RecordFormat } from './decoder.ts';
import { dockerEventsFormat } from './docker-events.ts';
import { falcoFormat } from './falco.ts';
import { k8sAuditFormat } from './k8s-audit.ts';
import { nginxFormat } from './nginx.ts';
import { grypeFormat, trivyFormat } from './scan-reports.ts';
import { syslogAuthFormat } from './syslog-auth.ts';

/** Offline defaults: nothing is emitted by timeout, everything is flushed at end of input. */
const OFFLINE_MAX_MESSAGE_BYTES = 1024 * 1024;

function containerLogFormat(name: 'docker-json' | 'cri', description: string): RecordFormat {
  return {
    name,
    description,
    createDecoder: (ctx) => {
      const container = ctx.path ? containerFromPath(ctx.path) : undefined;
      return new ContainerLogDecoder(name, ctx, {
        maxMessageBytes: OFFLINE_MAX_MESSAGE_BYTES,
        partialTimeout: Number.POSITIVE_INFINITY,
        // The same as a container_logs source's default: security lines inside container logs get their class.
        content: 'auto',
        ...(container ? { container } : {}),
      });
    },
  };
}

const FORMATS: RecordFormat[] = [
  containerLogFormat('docker-json', 'Docker json-file log (partial entries reassembled)'),
  containerLogFormat(
    'cri',
    'CRI (containerd / CRI-O) log; Kubernetes identity from a /var/log/pods/<ns>_<pod>_<uid>/<container>/N.log path',
  ),
  dockerEventsFormat,
  auditdFormat,
  k8sAuditFormat,
  falcoFormat,
  syslogAuthFormat,
  nginxFormat,
];

/** Formats read whole, one document per file (see DocumentFormat). */
const DOCUMENT_FORMATS: DocumentFormat[] = [trivyFormat, grypeFormat];

/** A line format by name (tailed record by record). */
export function findFormat(name: string): RecordFormat | undefined {
  return FORMATS.find((f) => f.name === name);
}

/** Any input format by name: a line format or a whole-document format. */
export function findInputFormat(name: string): InputFormat | undefined {
  return findFormat(name) ?? DOCUMENT_FORMATS.find((f) => f.name === name);
}

export function formatNames(): string[] {
  return allFormats().map((f) => f.name);
}

export function allFormats(): readonly InputFormat[] {
  return [...FORMATS, ...DOCUMENT_FORMATS];
}
