#!/usr/bin/env node
// Prints the sources listed in the given list files (native/sources.txt, ...), one per line, for
// binding.gyp's <!@(...) expansion. CMakeLists.txt reads the same files, so the two builds agree.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = [];
for (const list of process.argv.slice(2)) {
  for (const raw of readFileSync(join(root, list), 'utf8').split('\n')) {
    const line = raw.trim();
    if (line && !line.startsWith('#')) out.push(line);
  }
}
console.log(out.join('\n'));
