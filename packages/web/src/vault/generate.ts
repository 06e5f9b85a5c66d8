/** A fresh credential from the Web Crypto CSPRNG: nullifier and secret, 31 random bytes each, non-zero. */
export function generateSecrets(): { nullifier: `0x${string}`; secret: `0x${string}` } {
  return { nullifier: randomElement(), secret: randomElement() };
}

function randomElement(): `0x${string}` {
  for (;;) {
    const bytes = new Uint8Array(31);
    crypto.getRandomValues(bytes);
    if (bytes.some((b) => b !== 0)) {
      return `0x00${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
    }
  }
}
