// `npm run bench -w @zkcredits/server`: the server suite alone, printed as JSON.
// `npm run bench -w @zkcredits/server -- leaves`: only leaves_page_1m_ms.
// `npm run bench -w @zkcredits/server -- requests`: only the request benchmarks (server_rps, server_rps_v2, …).
import { benchLeavesPage, benchServer, benchServerRequests } from './bench.js';

const only = process.argv.slice(2);
const run = only.includes('leaves') ? benchLeavesPage : only.includes('requests') ? benchServerRequests : benchServer;
console.log(JSON.stringify(await run(), null, 2));
process.exit(0);
