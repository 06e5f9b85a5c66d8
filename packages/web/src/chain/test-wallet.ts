/**
 * TEST BUILDS ONLY (ZKC_TEST_WALLET=1): an EIP-1193 provider backed by an unlocked Anvil
 * account, installed as `window.ethereum` when a test sets `window.__ZKC_TEST_WALLET__`
 * before the page loads. Every request is forwarded to Anvil's JSON-RPC; Anvil signs with
 * the account. Tests can make the next request fail as if the user pressed "Reject", or
 * send a transaction and never report back (a tab closing mid-purchase).
 */
type TestWalletOptions = {
  rpcUrl: string;
  account: `0x${string}`;
  /** Methods whose next call fails with code 4001 (user rejected). */
  reject?: string[];
  /** Forward eth_sendTransaction, then never resolve (simulates a crash after sending). */
  hangAfterSend?: boolean;
};

declare global {
  interface Window {
    __ZKC_TEST_WALLET__?: TestWalletOptions;
    // `any`, as the Coinbase wallet SDK (cbw-sdk, through wagmi) declares it: global declarations must agree.
    ethereum?: any;
  }
}

class ProviderRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export function installTestWallet(): void {
  const options = window.__ZKC_TEST_WALLET__;
  if (!options || window.ethereum) return;
  const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
  let id = 0;
  // Like a wallet the user already authorised for this site: permission survives reloads.
  let connected = localStorage.getItem('zkc-test-wallet-connected') === '1';
  const setConnected = (v: boolean) => {
    connected = v;
    localStorage.setItem('zkc-test-wallet-connected', v ? '1' : '0');
  };

  async function rpc(method: string, params: unknown): Promise<unknown> {
    const res = await fetch(options!.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params: params ?? [] }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (body.error) {
      const error = new ProviderRpcError(body.error.code, body.error.message) as ProviderRpcError & { data?: unknown };
      error.data = body.error.data;
      throw error;
    }
    return body.result;
  }

  const provider = {
    isMetaMask: false,
    isZkcTestWallet: true,
    async request({ method, params }: { method: string; params?: unknown }): Promise<unknown> {
      const reject = options.reject ?? [];
      const i = reject.indexOf(method);
      if (i >= 0) {
        reject.splice(i, 1);
        throw new ProviderRpcError(4001, 'User rejected the request.');
      }
      switch (method) {
        case 'eth_requestAccounts':
          setConnected(true);
          return [options.account];
        case 'eth_accounts':
          return connected ? [options.account] : [];
        case 'wallet_requestPermissions':
          setConnected(true);
          return [{ parentCapability: 'eth_accounts' }];
        case 'wallet_getPermissions':
          return connected ? [{ parentCapability: 'eth_accounts' }] : [];
        case 'wallet_revokePermissions':
          setConnected(false);
          return null;
        case 'wallet_switchEthereumChain': {
          const wanted = (params as [{ chainId: string }])[0].chainId;
          const current = (await rpc('eth_chainId', [])) as string;
          if (BigInt(wanted) !== BigInt(current)) throw new ProviderRpcError(4902, 'Unrecognized chain.');
          return null;
        }
        case 'eth_sendTransaction': {
          const hash = await rpc(method, params);
          if (options.hangAfterSend) return new Promise(() => {});
          return hash;
        }
        default:
          return rpc(method, params);
      }
    },
    on(event: string, fn: (...args: unknown[]) => void) {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(fn);
      return provider;
    },
    removeListener(event: string, fn: (...args: unknown[]) => void) {
      listeners.get(event)?.delete(fn);
      return provider;
    },
  };
  window.ethereum = provider;
  const info = {
    uuid: '6f1c0c4e-6b2a-4d51-9d0b-0d3f3c1f7a11',
    name: 'Test Wallet',
    icon: 'data:image/svg+xml,%3Csvg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"%3E%3Crect width="32" height="32" rx="8" fill="%23444"/%3E%3C/svg%3E',
    rdns: 'dev.zkcredits.testwallet',
  };
  const announce = () =>
    window.dispatchEvent(new CustomEvent('eip6963:announceProvider', { detail: Object.freeze({ info, provider }) }));
  window.addEventListener('eip6963:requestProvider', announce);
  announce();
}
