// The top level of the config file. Components' own keys are validated by their factories' schemas (see load.ts).
import { z } from 'zod';
import { adminSchema } from '../admin/config.ts';
import { redactionSchema } from '../policy/redaction-config.ts';
import { duration } from './units.ts';

const componentEntry = z.looseObject({ type: z.string().describe('The component type (see the reference below).') });

export const topLevelSchema = z.strictObject({
  data_dir: z
    .string()
    .default('./data')
    .describe(
      'Where Outrider keeps its state (checkpoints under `state/`, sink buffers); relative to the working directory.',
    ),
  hostname: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Host name reported as `device.hostname`. Default: `NODE_NAME` from the environment (on Kubernetes, the node's name through the downward API), else the Docker engine's name for its host when the config uses the Docker API (GET /info), else the OS host name (in a container, the container's).",
    ),
  log: z
    .strictObject({
      level: z
        .enum(['debug', 'info', 'warn', 'error'])
        .default('info')
        .describe('Minimum level of Outrider’s own logs (JSON on stderr).'),
    })
    .default({ level: 'info' }),
  admin: adminSchema,
  shutdown_timeout: duration
    .default(10_000)
    .describe(
      'On SIGTERM/SIGINT: how long to flush sinks before exiting anyway (unflushed events are re-read on restart).',
    ),
  redaction: redactionSchema,
  sources: z.record(z.string(), componentEntry).describe('Named sources: where events come from.'),
  transforms: z.record(z.string(), componentEntry).default({}).describe('Named transforms, each with `inputs`.'),
  sinks: z.record(z.string(), componentEntry).describe('Named sinks, each with `inputs`: where events go.'),
});

export type TopLevelConfig = z.output<typeof topLevelSchema>;
