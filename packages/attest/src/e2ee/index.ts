// `@zkcredits/attest/e2ee`: the one Venice E2EE codec (client, simulator and tools share it).
export {
  HKDF_INFO,
  MIN_PACKED_HEX_LEN,
  encryptField,
  decryptField,
  generateKeyPair,
  keyPairFromSecret,
  parsePublicKey,
  looksEncrypted,
  ethereumAddress,
} from './codec.js';
export type { KeyPair } from './codec.js';
export { E2EE_SIGNING_ALGO, E2EE_HEADER_NAMES, createE2eeSession } from './session.js';
export type { ChatMessageLike, DecryptedChunk, E2eeSession } from './session.js';
