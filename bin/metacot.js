#!/usr/bin/env node
// The `metacot` command: runs the compiled CLI (npm install builds dist/ through `prepare`).
import { main } from '../dist/cli/main.js';

main(process.argv).catch((err) => {
  console.error(err instanceof Error ? `metacot: ${err.message}` : err);
  process.exitCode = 1;
});
