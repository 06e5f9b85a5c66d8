import * as Comlink from 'comlink';
import type { ProverApi } from './types';

let instance: Comlink.Remote<ProverApi> | undefined;

/** The app's single prover worker, started on first use. */
export function prover(): Comlink.Remote<ProverApi> {
  if (!instance) {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'zkcredits-prover' });
    instance = Comlink.wrap<ProverApi>(worker);
  }
  return instance;
}

export { Comlink };
