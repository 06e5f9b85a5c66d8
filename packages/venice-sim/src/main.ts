/**
 * CLI: `VENICE_SIM_API_KEY=... PORT=8787 npx tsx packages/venice-sim/src/main.ts`
 * Prints one JSON line with the URL and the test root CA clients must trust; never prompts.
 */
import { z } from 'zod';
import { createVeniceSim } from './sim.js';

const env = z
  .object({
    VENICE_SIM_API_KEY: z.string().min(1, 'set VENICE_SIM_API_KEY to the key clients must send as Bearer'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    HOST: z.string().default('127.0.0.1'),
    /** Makes the attestation PKI deterministic (same root CA across restarts). */
    VENICE_SIM_ATTESTATION_SEED: z.string().optional(),
  })
  .safeParse(process.env);
if (!env.success) {
  console.error(`venice-sim: bad environment: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  process.exit(2);
}
const sim = await createVeniceSim({
  apiKey: env.data.VENICE_SIM_API_KEY,
  port: env.data.PORT,
  host: env.data.HOST,
  ...(env.data.VENICE_SIM_ATTESTATION_SEED ? { attestationSeed: env.data.VENICE_SIM_ATTESTATION_SEED } : {}),
});
console.log(
  JSON.stringify({
    msg: 'venice-sim listening',
    url: sim.url,
    apiBaseUrl: sim.apiBaseUrl,
    attestationRootCaDerBase64: Buffer.from(sim.attestationRootCaDer).toString('base64'),
    fmspc: sim.fmspc,
  }),
);
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
