// The `admin:` section of the config: where /metrics, /healthz and /readyz are served.
import { z } from 'zod';
import { ADMIN_ADDRESS_HINT, ADMIN_ADDRESS_PATTERN, DEFAULT_ADMIN_ADDRESS } from './address.ts';

export const adminSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('Serve /metrics, /healthz and /readyz.'),
    address: z
      .string()
      .regex(ADMIN_ADDRESS_PATTERN, ADMIN_ADDRESS_HINT)
      .default(DEFAULT_ADMIN_ADDRESS)
      .describe('host:port of the admin endpoint. Keep it on loopback unless the network is trusted.'),
  })
  .default({ enabled: true, address: DEFAULT_ADMIN_ADDRESS });
