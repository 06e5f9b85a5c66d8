import { benchWeb } from './bench';

const results = await benchWeb();
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
