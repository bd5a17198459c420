import { z } from 'zod';
import { duration } from '../../config/units.ts';
import { CONTENT_FORMATS } from '../../ocsf/mappers/container-content.ts';
import { RAW_DATA_MODES } from '../../ocsf/mappers/container-log.ts';
import { linearRegexSource } from '../../policy/linear-regex.ts';
import { tailKeys } from '../tail/config.ts';

export const multilineSchema = z
  .strictObject({
    mode: z
      .enum(['continue_through', 'halt_before'])
      .describe(
        'continue_through: lines matching condition_pattern continue the previous message (stack frames). halt_before: lines not matching it continue; a match starts a new message (e.g. a leading timestamp).',
      ),
    condition_pattern: linearRegexSource.describe(
      'Regular expression tested against each line (RE2 syntax, run in linear time: no lookahead, no backreferences).',
    ),
    timeout: duration.default(1000).describe('Emit a group when no line joined it for this long.'),
    max_lines: z.number().int().positive().default(500).describe('Most lines joined into one message.'),
  })
  .describe('Join multi-line messages (stack traces) per container stream. Off unless set.');

export const containerLogsSchema = z.strictObject({
  format: z
    .enum(['auto', 'docker-json', 'cri'])
    .default('auto')
    .describe(
      'docker-json (json-file log driver), cri (containerd / CRI-O), or auto: decided once per file from its first valid record (bad lines before it are kept raw; a new file at the same path is decided again).',
    ),
  include: z
    .array(z.string().min(1))
    .min(1)
    .default(['/var/lib/docker/containers/*/*-json.log'])
    .describe('Glob patterns of log files to tail. For Kubernetes nodes: /var/log/pods/*/*/*.log.'),
  ...tailKeys,
  exclude_own_logs: z
    .boolean()
    .default(true)
    .describe(
      "Leave alone the log files of the container Outrider runs in (found from /proc/self/mountinfo and cgroup; on Kubernetes, its pod's), so its own logs never loop back into it. false: ship them like any other container's.",
    ),
  partial_timeout: duration
    .default(5000)
    .describe('A partial line whose end never comes is emitted (flagged) after this long.'),
  multiline: multilineSchema.optional(),
  decode_threads: z
    .union([z.literal('auto'), z.number().int().min(0).max(64)])
    .default('auto')
    .describe(
      "Worker threads that parse, map, mask and encode lines beside the main thread (which reads, writes and acknowledges). auto: from the CPUs usable (cores, or the container's cgroup CPU quota): none on one, else one per CPU but one, at least 2 and at most 8 (each worker adds ~25 MB resident); 0 decodes on the main thread. Workers start only once the load needs them (a read of half a chunk or more, or decoding taking over a quarter of a core on the main thread); until then small reads decode on the main thread.",
    ),
  content: z
    .enum(['auto', 'none', ...CONTENT_FORMATS])
    .default('auto')
    .describe(
      'Which security mapper applies to the lines: auto (sniffed per line: nginx access → HTTP Activity, sshd/PAM → Authentication, Falco JSON → Detection Finding…), none (every line a Base Event), or one format for every line. A container label outrider.format=<value> overrides it per container.',
    ),
  raw_data: z
    .enum(RAW_DATA_MODES)
    .default('when_lossy')
    .describe(
      "When an event carries its json-file / CRI record in raw_data. when_lossy: only when the event does not hold all of it — a malformed, cut, split or joined line, a record with more than log, stream and time, a JSON line that does not re-encode to its own text, a security mapping that keeps neither the line as its message nor the record's time — so that nothing is lost and nothing is sent twice (a SIEM bills every byte). always: every event (the record once more, escaped). never: none (bad lines keep their text in message).",
    ),
});

export type ContainerLogsConfig = z.output<typeof containerLogsSchema>;
