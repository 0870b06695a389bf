// Runs `metacot cot ...` straight from the TypeScript sources, without building the CLI:
//   npx tsx src/cli/cot-run.ts check --manifest out/world/manifest.jsonl --json
import { Command } from 'commander';
import { registerCot } from './cot.js';

const program = new Command().name('metacot').showHelpAfterError();
registerCot(program);
program.parseAsync(['node', 'metacot', 'cot', ...process.argv.slice(2)]).catch((err: unknown) => {
  console.error(err instanceof Error ? `metacot: ${err.message}` : err);
  process.exitCode = 1;
});
