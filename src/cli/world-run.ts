// Runs `metacot world ...` straight from the TypeScript sources, without building the CLI:
//   npx tsx src/cli/world-run.ts generate --out out/world --n 50
import { Command } from 'commander';
import { registerWorld } from './world.js';

const program = new Command().name('metacot').showHelpAfterError();
registerWorld(program);
program.parseAsync(['node', 'metacot', 'world', ...process.argv.slice(2)]).catch((err: unknown) => {
  console.error(err instanceof Error ? `metacot: ${err.message}` : err);
  process.exitCode = 1;
});
