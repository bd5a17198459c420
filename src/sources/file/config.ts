import { z } from 'zod';
import { byteSize, duration } from '../../config/units.ts';
import { tailKeys } from '../tail/config.ts';

export const FILE_FORMATS = ['auditd', 'k8s-audit', 'falco', 'syslog-auth', 'nginx', 'trivy', 'grype'] as const;

export const fileSourceSchema = z.strictObject({
  format: z
    .enum(FILE_FORMATS)
    .describe(
      "What the files hold: auditd (audit.log), k8s-audit (API server audit log), falco (Falco JSON alerts), syslog-auth (auth.log / secure), nginx (nginx or Apache access and error logs), trivy / grype (image scanners' JSON reports, one per file, read whole and again when they change; either reads both).",
    ),
  include: z
    .array(z.string().min(1))
    .min(1)
    .describe('Glob patterns of the files to tail, e.g. /var/log/audit/audit.log or /var/log/auth.log.'),
  ...tailKeys,
  auditd: z
    .strictObject({
      group_timeout: duration
        .default(2000)
        .describe('An audit event whose EOE record never comes (single-record kernel events) is emitted after this.'),
      max_open_events: z
        .number()
        .int()
        .positive()
        .default(1024)
        .describe('Most audit events held open at once; beyond it the oldest is emitted (flagged).'),
      attribute_containers: z
        .boolean()
        .default(true)
        .describe(
          'Attribute each audited process to its container from /proc/<pid>/cgroup (process.container, device.container).',
        ),
      proc_root: z
        .string()
        .min(1)
        .default('/proc')
        .describe(
          "Where the host's /proc is, for attribution. In a container (DaemonSet), mount the host's /proc read-only (e.g. at /host/proc) rather than share the host's pid namespace: reading it needs no privilege to signal host processes.",
        ),
    })
    .default({ group_timeout: 2000, max_open_events: 1024, attribute_containers: true, proc_root: '/proc' })
    .describe('auditd: grouping of records into events.'),
  k8s_audit: z
    .strictObject({
      stages: z
        .enum(['merge', 'complete_only'])
        .default('merge')
        .describe(
          'merge: RequestReceived/ResponseStarted are held and merged into ResponseComplete (one event per request). complete_only: RequestReceived is dropped (counted in outrider_events_dropped_total).',
        ),
      hold_timeout: duration
        .default(60_000)
        .describe(
          'A request whose ResponseComplete never comes (long-running exec, watch) is emitted alone after this.',
        ),
    })
    .default({ stages: 'merge', hold_timeout: 60_000 })
    .describe('k8s-audit: one event per request.'),
  reports: z
    .strictObject({
      max_bytes: byteSize
        .default(64 * 1024 * 1024)
        .describe('Largest report read; a larger file is reported (counted, logged) and skipped.'),
      settle: duration
        .default(2000)
        .describe(
          'A report that does not parse is taken as still being written until its file is this old; after that it is reported as bad (once per content).',
        ),
    })
    .default({ max_bytes: 64 * 1024 * 1024, settle: 2000 })
    .describe(
      'trivy / grype: whole-document reports. Of the tailing keys, include, exclude, read_from, glob_interval and checkpoint_interval apply.',
    ),
  timezone_offset: z
    .number()
    .int()
    .min(-720)
    .max(840)
    .default(0)
    .describe('Minutes east of UTC for times that carry no zone (RFC 3164 syslog, nginx error.log).'),
  server: z
    .enum(['nginx', 'apache'])
    .default('nginx')
    .describe('nginx format: which server wrote the access log (metadata.product).'),
});

export type FileSourceConfig = z.output<typeof fileSourceSchema>;
