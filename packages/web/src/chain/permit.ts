import { domainSeparator, type Address, type PublicClient, type TypedDataDomain } from 'viem';
import { erc20Abi } from './abi';

const domainSeparatorAbi = [
  { type: 'function', name: 'DOMAIN_SEPARATOR', stateMutability: 'view', inputs: [], outputs: [{ type: 'bytes32' }] },
  { type: 'function', name: 'version', stateMutability: 'view', inputs: [], outputs: [{ type: 'string' }] },
] as const;

/**
 * The token's EIP-712 domain if it supports ERC-2612 permits, else undefined. The domain is
 * read via ERC-5267 (`eip712Domain`) or `name()`/`version()`, and accepted only when it
 * reproduces the token's own `DOMAIN_SEPARATOR()`, so a signature can never be wasted.
 */
export async function permitDomain(client: PublicClient, token: Address, chainId: number): Promise<TypedDataDomain | undefined> {
  try {
    const [separator] = await Promise.all([
      client.readContract({ address: token, abi: domainSeparatorAbi, functionName: 'DOMAIN_SEPARATOR' }),
      client.readContract({ address: token, abi: erc20Abi, functionName: 'nonces', args: [token] }),
    ]);
    let domain: TypedDataDomain;
    try {
      const [, name, version] = await client.readContract({ address: token, abi: erc20Abi, functionName: 'eip712Domain' });
      domain = { name, version, chainId, verifyingContract: token };
    } catch {
      const name = await client.readContract({ address: token, abi: erc20Abi, functionName: 'name' });
      const version = await client
        .readContract({ address: token, abi: domainSeparatorAbi, functionName: 'version' })
        .catch(() => '1');
      domain = { name, version, chainId, verifyingContract: token };
    }
    return domainSeparator({ domain }) === separator ? domain : undefined;
  } catch {
    return undefined;
  }
}
