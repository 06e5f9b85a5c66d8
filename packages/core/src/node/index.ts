export { resolveCrsPath, loadCrs } from './crs.js';
export { createNodeProver, type CreateNodeProverParameters } from './prover.js';
export { startAnvil, freePort, anvilBinary, ANVIL_KEYS, type Anvil } from './anvil.js';
export { deployContracts, DeployError, type Deployment as ContractDeployment } from '../deploy.js';
export { readDeploymentManifest, writeDeploymentManifest } from './manifest.js';
