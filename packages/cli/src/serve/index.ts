// The local proxy of `zkcredits serve`: an OpenAI-compatible endpoint paying each chat call by proof.
export { startProxy, type ProxyOptions, type ProxyEvent, type RunningProxy } from './proxy.js';
export { DEFAULT_MAX_BODY_BYTES } from './body.js';
export type { ProxyErrorCode } from './errors.js';
