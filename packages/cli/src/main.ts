/** The `zkcredits` executable: runs the command line, then exits with its code. */
import { run } from './program.js';

const code = await run(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`zkcredits: unexpected error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
  return 70;
});
process.exit(code);
