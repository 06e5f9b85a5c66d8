// `npm run bench -w @zkcredits/server`: the server suite alone, printed as JSON.
import { benchServer } from './bench.js';

console.log(JSON.stringify(await benchServer(), null, 2));
process.exit(0);
