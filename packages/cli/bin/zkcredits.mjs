#!/usr/bin/env node
// The `zkcredits` command, in the repository: runs the TypeScript sources through tsx.
// The published package's bin points at the built JavaScript (dist/main.js) instead.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
