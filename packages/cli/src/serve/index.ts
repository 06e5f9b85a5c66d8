// The local proxy of `zkcredits serve`: an OpenAI-compatible endpoint paying each chat call by proof.
export { startProxy, type ProxyOptions, type ProxyEvent, type RunningProxy } from './proxy.js';
