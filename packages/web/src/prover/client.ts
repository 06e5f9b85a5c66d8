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
      ticketSpend: (req, journal, onProgress) => r.ticketSpend(req, Comlink.proxy(journal), onProgress ? Comlink.proxy(onProgress) : undefined),
      ticketSettle: (spend, outcome, journal) => r.ticketSettle(spend, outcome, Comlink.proxy(journal)),
      ticketRelease: (spend) => r.ticketRelease(spend),
      ticketHeld: (request) => r.ticketHeld(request),
      meteredSpend: (req, context, onProgress) => r.meteredSpend(req, Comlink.proxy(context), onProgress ? Comlink.proxy(onProgress) : undefined),
      meteredSettle: (nullifier, state, context) => r.meteredSettle(nullifier, state, Comlink.proxy(context)),
      meteredRelease: (nullifier) => r.meteredRelease(nullifier),
      meteredRecover: (account, context) => r.meteredRecover(account, Comlink.proxy(context)),
      e2eeOpen: (model) => r.e2eeOpen(model),
      e2eeEncrypt: (id, messages) => r.e2eeEncrypt(id, messages),
      e2eeDecrypt: (id, contents) => r.e2eeDecrypt(id, contents),
      e2eeClose: (id) => r.e2eeClose(id),
    };
    if (process.env.NEXT_PUBLIC_ZKC_TEST_WALLET === '1') {
      // Test builds only (the worker has these hooks only there too).
      const t = r as unknown as Comlink.Remote<Required<Pick<ProverApi, 'e2eeTrustTestRoot' | 'e2eeBenchVerify'>>>;
      facade.e2eeTrustTestRoot = (hex) => t.e2eeTrustTestRoot(hex);
      facade.e2eeBenchVerify = (model) => t.e2eeBenchVerify(model);
    }
  }
  return facade;
}
