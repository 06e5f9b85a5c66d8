import { beforeAll } from 'vitest';
import { initPoseidon2 } from '../src/index.js';

beforeAll(async () => {
  await initPoseidon2();
});
