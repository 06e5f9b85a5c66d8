export { resolveCrsPath, loadCrs } from './crs.js';
export { createNodeProver, type CreateNodeProverParameters } from './prover.js';
