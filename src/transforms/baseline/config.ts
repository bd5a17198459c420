import { z } from 'zod';
import { duration } from '../../config/units.ts';
import { inputsSchema } from '../../core/common-config.ts';
import { fieldSelector } from '../../policy/conditions.ts';
import { severitySchema } from '../rules/config.ts';

export const baselineSchema = z.strictObject({
  inputs: inputsSchema,
  group_by: z
    .array(fieldSelector)
    .min(1)
    .default(['device.container.image.name', 'process.container.image.name'])
    .describe(
      'Fields naming the workload a behaviour belongs to; the first present wins (e.g. a label: `device.container.labels`… or `device.container.tags[k8s.pod.name]`). Events with none pass unlearned.',
    ),
  learn_for: duration
    .default(3_600_000)
    .describe('How long each workload is learned, from the first event seen of it; deviations after it are findings.'),
  sensitive_paths: z
    .array(z.string().min(1))
    .default(['/etc/', '/root/', '/bin/', '/sbin/', '/usr/bin/', '/usr/sbin/', '/usr/lib/', '/lib/', '/boot/'])
    .describe('Path prefixes under which written files (1001) are learned and deviations reported.'),
  severity: severitySchema.default('Medium').describe('Severity of a deviation finding.'),
  known_bad_severity: severitySchema
    .default('High')
    .describe('Severity of a finding for a known-bad container start (privileged, SYS_ADMIN, host / or /etc mounted).'),
  max_workloads: z.number().int().positive().default(1000).describe('Most workloads learned (state stays bounded).'),
  max_items: z
    .number()
    .int()
    .positive()
    .default(500)
    .describe('Most behaviours of one kind (executables, destinations…) learned per workload.'),
  persist_interval: duration.default(5000).describe('How often learned state is written to the state directory.'),
});

export type BaselineConfig = z.output<typeof baselineSchema>;
