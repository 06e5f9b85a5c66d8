// Completed TEE chats the sim remembers so `/tee/signature` can sign a receipt for them.
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface Receipt {
  model: string;
  /** sha256 of the request body as received, hex. */
  requestHash: string;
  /** sha256 of the response body as sent (for a stream: every SSE byte), hex. */
  responseHash: string;
}

/** Bounded map from completion id (`chatcmpl-…`) to its receipt; the oldest is forgotten first. */
export class ReceiptStore {
  readonly #byId = new Map<string, Receipt>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** @internal */
  record(id: string, receipt: Receipt): void {
    this.#byId.delete(id);
    this.#byId.set(id, receipt);
    while (this.#byId.size > this.#max) this.#byId.delete(this.#byId.keys().next().value!);
  }

  get(id: string): Receipt | undefined {
    return this.#byId.get(id);
  }

  get size(): number {
    return this.#byId.size;
  }
}

/** EIP-191 `personal_sign` digest: keccak256("\x19Ethereum Signed Message:\n" ‖ len ‖ text). */
export function personalMessageHash(text: string): Uint8Array {
  const body = new TextEncoder().encode(text);
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${body.length}`);
  const msg = new Uint8Array(prefix.length + body.length);
  msg.set(prefix, 0);
  msg.set(body, prefix.length);
  return keccak_256(msg);
}

/** Ethereum-style signature of `text`: 0x ‖ r ‖ s ‖ v (v = 27 + recovery id), 132 hex chars after 0x. */
export function personalSign(text: string, secretKey: Uint8Array): string {
  const sig = secp256k1.sign(personalMessageHash(text), secretKey, { prehash: false, format: 'recovered' });
  return `0x${bytesToHex(sig.subarray(1))}${(27 + sig[0]!).toString(16)}`;
}
