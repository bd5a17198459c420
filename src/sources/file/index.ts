// Tails security log files (audit.log, Kubernetes audit log, Falco alerts, auth.log, web server logs) with the shared
// TailEngine (rotation, checkpoints, at-least-once) and the format's decoder; reads scanners' reports (whole JSON
// documents) with the DocumentSource instead.
import type { Source, SourceContext, SourceFactory } from '../../core/component.ts';
import { PidAttribution } from '../../enrich/pid-attribution.ts';
import { isDocumentFormat } from '../../formats/decoder.ts';
import { findInputFormat } from '../../formats/index.ts';
import { TailingSource } from '../tail/source.ts';
import { type FileSourceConfig, fileSourceSchema } from './config.ts';
import { DocumentSource } from './documents.ts';

/** The format's decoder options from the source config. */
export function decoderOptions(c: FileSourceConfig, ctx: SourceContext, attribution?: PidAttribution): unknown {
  switch (c.format) {
    case 'auditd':
      return {
        groupTimeout: c.auditd.group_timeout,
        maxOpenEvents: c.auditd.max_open_events,
        ...(attribution ? { attributePid: attribution.containerOf } : {}),
      };
    case 'k8s-audit':
      return {
        stages: c.k8s_audit.stages,
        holdTimeout: c.k8s_audit.hold_timeout,
        onDropped: () => ctx.metrics.eventsDropped.inc({ component: ctx.name, reason: 'k8s_request_received' }),
      };
    case 'syslog-auth':
      return { timezoneOffset: c.timezone_offset };
    case 'nginx':
      return { timezoneOffset: c.timezone_offset, server: c.server };
    case 'falco':
    case 'trivy':
    case 'grype':
      return undefined;
  }
}

function createFileSource(c: FileSourceConfig): Source {
  const format = findInputFormat(c.format);
  if (!format) throw new Error(`format ${c.format} is not registered`);
  if (isDocumentFormat(format))
    return new DocumentSource(format, {
      include: c.include,
      exclude: c.exclude,
      readFrom: c.read_from,
      globInterval: c.glob_interval,
      checkpointInterval: c.checkpoint_interval,
      maxBytes: c.reports.max_bytes,
      settle: c.reports.settle,
      followSymlinks: c.follow_symlinks,
    });
  // Attribution reads /proc when a record is read: right for live tailing (the process usually still runs).
  const attribution =
    c.format === 'auditd' && c.auditd.attribute_containers
      ? new PidAttribution({ procRoot: c.auditd.proc_root })
      : undefined;
  let options: unknown;
  return new TailingSource(c, (decodeCtx, ctx) => {
    options ??= decoderOptions(c, ctx, attribution);
    return format.createDecoder(decodeCtx, options);
  });
}

export const fileSourceFactory: SourceFactory<FileSourceConfig> = {
  kind: 'source',
  type: 'file',
  description:
    "Tails security log files (auditd, Kubernetes audit, Falco, auth.log, nginx/Apache) into OCSF, surviving rotation and restarts; reads image scanners' reports (Trivy, Grype) whole, again when they change.",
  configSchema: fileSourceSchema,
  create: createFileSource,
};
