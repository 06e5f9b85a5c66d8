export { resolveCrsPath, loadCrs } from './crs.js';
export { createNodeProver, type CreateNodeProverParameters } from './prover.js';
export { startAnvil, freePort, anvilBinary, ANVIL_KEYS, type Anvil } from './anvil.js';
