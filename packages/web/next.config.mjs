// @ts-check
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Cross-origin isolation (COOP + COEP) is required for SharedArrayBuffer, i.e. the
 * multithreaded prover. Every response of the app carries both headers.
 */
const isolation = [
  { key: 'Cross-Origin-Opener-Policy', value: 'same-origin' },
  { key: 'Cross-Origin-Embedder-Policy', value: 'require-corp' },
  { key: 'Cross-Origin-Resource-Policy', value: 'same-origin' },
  { key: 'X-Content-Type-Options', value: 'nosniff' },
  { key: 'Referrer-Policy', value: 'no-referrer' },
];

/** @type {import('next').NextConfig} */
const config = {
  reactStrictMode: true,
  // Test builds (with the test wallet) go to their own folder: see `build:test`.
  distDir: process.env.ZKC_NEXT_DIST_DIR || '.next',
  transpilePackages: ['@zkcredits/core'],
  poweredByHeader: false,
  // The browser test wallet exists only in builds made with ZKC_TEST_WALLET=1.
  env: { NEXT_PUBLIC_ZKC_TEST_WALLET: process.env.ZKC_TEST_WALLET === '1' ? '1' : '0' },
  async headers() {
    return [{ source: '/:path*', headers: isolation }];
  },
  webpack(config, { isServer, webpack }) {
    const empty = join(here, 'stubs/empty.cjs');
    config.resolve.alias = {
      ...config.resolve.alias,
      // Optional peer imports of wallet SDKs we do not ship.
      'pino-pretty': empty,
      '@react-native-async-storage/async-storage': empty,
    };
    // @zkcredits/core is TypeScript with NodeNext-style `.js` import specifiers.
    config.resolve.extensionAlias = { ...config.resolve.extensionAlias, '.js': ['.ts', '.tsx', '.js'] };
    config.plugins.push(new webpack.NormalModuleReplacementPlugin(/^@x402\//, empty));
    config.experiments = { ...config.experiments, asyncWebAssembly: true };
    if (!isServer) config.output.environment = { ...config.output.environment, asyncFunction: true };
    return config;
  },
};

export default config;
