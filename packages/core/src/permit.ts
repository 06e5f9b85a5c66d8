import {
  type Account,
  type Address,
  type Chain,
  type Hex,
  type PublicClient,
  type Transport,
  type TypedDataDomain,
  type WalletClient,
  domainSeparator,
  hexToSignature,
} from 'viem';
import { testTokenAbi } from './generated/abis.js';

const domainSeparatorAbi = [
  { type: 'function', name: 'DOMAIN_SEPARATOR', stateMutability: 'view', inputs: [], outputs: [{ type: 'bytes32' }] },
  { type: 'function', name: 'version', stateMutability: 'view', inputs: [], outputs: [{ type: 'string' }] },
] as const;

/** EIP-712 types of an ERC-2612 permit. */
export const PERMIT_TYPES = {
  Permit: [
    { name: 'owner', type: 'address' },
    { name: 'spender', type: 'address' },
    { name: 'value', type: 'uint256' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const;

/**
 * The token's EIP-712 domain if it supports ERC-2612 permits, else `undefined`. The domain
 * is read via ERC-5267 (`eip712Domain`) or `name()`/`version()`, and accepted only when it
 * reproduces the token's own `DOMAIN_SEPARATOR()`, so a permit signature is never wasted.
 */
export async function permitDomain(client: PublicClient, token: Address, chainId: number): Promise<TypedDataDomain | undefined> {
  try {
    const [separator] = await Promise.all([
      client.readContract({ address: token, abi: domainSeparatorAbi, functionName: 'DOMAIN_SEPARATOR' }),
      client.readContract({ address: token, abi: testTokenAbi, functionName: 'nonces', args: [token] }),
    ]);
    let domain: TypedDataDomain;
    try {
      const [, name, version] = await client.readContract({ address: token, abi: testTokenAbi, functionName: 'eip712Domain' });
      domain = { name, version, chainId, verifyingContract: token };
    } catch {
      const name = await client.readContract({ address: token, abi: testTokenAbi, functionName: 'name' });
      const version = await client.readContract({ address: token, abi: domainSeparatorAbi, functionName: 'version' }).catch(() => '1');
      domain = { name, version, chainId, verifyingContract: token };
    }
    return domainSeparator({ domain }) === separator ? domain : undefined;
  } catch {
    return undefined;
  }
}

export type SignPermitParameters = {
  publicClient: PublicClient;
  walletClient: WalletClient<Transport, Chain | undefined, Account | undefined>;
  /** The signer (the wallet client's own account when omitted). */
  account?: Account;
  domain: TypedDataDomain;
  token: Address;
  spender: Address;
  value: bigint;
  deadline: bigint;
};

/** Signs an ERC-2612 permit for the wallet's account (current nonce) and splits the signature. */
export async function signPermit(p: SignPermitParameters): Promise<{ v: number; r: Hex; s: Hex }> {
  const account = p.account ?? p.walletClient.account;
  if (!account) throw new Error('signPermit needs an account');
  const owner = account.address;
  const nonce = await p.publicClient.readContract({ address: p.token, abi: testTokenAbi, functionName: 'nonces', args: [owner] });
  const signature = await p.walletClient.signTypedData({
    account,
    domain: p.domain,
    types: PERMIT_TYPES,
    primaryType: 'Permit',
    message: { owner, spender: p.spender, value: p.value, nonce, deadline: p.deadline },
  });
  const { r, s, v, yParity } = hexToSignature(signature);
  return { v: Number(v ?? BigInt(yParity + 27)), r, s };
}
