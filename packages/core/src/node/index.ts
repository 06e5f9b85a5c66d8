export {
  resolveCrsPath,
  loadCrs,
  verifyCrs,
  requireCrs,
  crsHelp,
  CRS_G1_POINTS,
  CRS_G1_BYTES,
  CRS_G2_BYTES,
  CRS_G1_SHA256,
  CRS_G2_SHA256,
} from './crs.js';
export { createNodeProver, createNodeTicketProver, createNodeMeteredProver, createNodeProvers, type CreateNodeProverParameters, type NodeProvers } from './prover.js';
export { writeWithBackpressure } from './http-write.js';
export { startAnvil, freePort, anvilBinary, ANVIL_KEYS, type Anvil } from './anvil.js';
export { deployContracts, DeployError, type Deployment as ContractDeployment } from '../deploy.js';
export { readDeploymentManifest, writeDeploymentManifest } from './manifest.js';
export {
  deployCreditPool,
  parsePrice,
  verifyDeployment,
  type DeployCreditPoolParameters,
  type DeployCreditPoolResult,
  type DeploySigner,
} from './deploy-pool.js';
