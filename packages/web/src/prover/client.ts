import * as Comlink from 'comlink';
import type { ProverApi } from './types';

let remote: Comlink.Remote<ProverApi> | undefined;
let facade: ProverApi | undefined;

/** The app's single prover worker, started on first use. Callbacks are proxied to the worker. */
export function prover(): ProverApi {
  if (!facade) {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'zkcredits-prover' });
    const r = (remote = Comlink.wrap<ProverApi>(worker));
    facade = {
      commitments: (pairs) => r.commitments(pairs),
      appendLeaves: (start, leaves) => r.appendLeaves(start, leaves),
      tree: () => r.tree(),
      resetTree: () => r.resetTree(),
      indexOf: (c) => r.indexOf(c),
      warmup: (onProgress) => r.warmup(onProgress ? Comlink.proxy(onProgress) : undefined),
      prove: (req, onProgress) => r.prove(req, onProgress ? Comlink.proxy(onProgress) : undefined),
    };
  }
  return facade;
}
