/**
 * CLI: `VENICE_SIM_API_KEY=... PORT=8787 npx tsx packages/venice-sim/src/main.ts`
 * Prints one JSON line with the URL and the keys clients need to pin; never prompts.
 */
import { z } from 'zod';
import { createVeniceSim } from './sim.js';

const env = z
  .object({
    VENICE_SIM_API_KEY: z.string().min(1, 'set VENICE_SIM_API_KEY to the key clients must send as Bearer'),
    PORT: z.coerce.number().int().min(0).max(65535).default(8787),
    HOST: z.string().default('127.0.0.1'),
    VENICE_SIM_AUTHORITY_KEY: z.string().optional(),
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
  ...(env.data.VENICE_SIM_AUTHORITY_KEY ? { authoritySecretKey: env.data.VENICE_SIM_AUTHORITY_KEY } : {}),
});
console.log(JSON.stringify({ msg: 'venice-sim listening', url: sim.url, apiBaseUrl: sim.apiBaseUrl, authorityPublicKeyHex: sim.authorityPublicKeyHex }));
const stop = () => void sim.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
