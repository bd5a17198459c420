import { z } from 'zod';
import { byteSize } from '../../config/units.ts';
import { sinkCommonShape } from '../../core/common-config.ts';

export const fileSinkSchema = z.strictObject({
  ...sinkCommonShape,
  path: z.string().min(1).describe('NDJSON output file (one OCSF event per line); its directory is created.'),
  rotate: z
    .strictObject({
      max_bytes: byteSize.default(100 * 1024 * 1024).describe('Rotate when the file would grow past this size.'),
      max_files: z
        .number()
        .int()
        .nonnegative()
        .default(10)
        .describe('Rotated files kept (path.1 is the newest); 0 keeps them all.'),
    })
    .default({ max_bytes: 100 * 1024 * 1024, max_files: 10 }),
  fsync: z
    .boolean()
    .default(true)
    .describe(
      'fsync each batch before acknowledging it (durable against power loss; off: against process crashes only).',
    ),
});

export type FileSinkConfig = z.output<typeof fileSinkSchema>;
