// `npm run bench -w @zkcredits/server`: the server suite alone, printed as JSON.
// `npm run bench -w @zkcredits/server -- leaves`: only leaves_page_1m_ms.
import { benchLeavesPage, benchServer } from './bench.js';

const only = process.argv.slice(2);
console.log(JSON.stringify(only.includes('leaves') ? await benchLeavesPage() : await benchServer(), null, 2));
process.exit(0);
