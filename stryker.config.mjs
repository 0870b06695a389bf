// Mutation testing of the TypeScript numerics (`npm run mutate`): StrykerJS plants one small bug at a
// time (a flipped sign, a dropped term, a swapped comparison, ...) in the files below and runs the
// vitest tests that cover it; a mutant that no test notices "survives". The score per folder is
// killed / (killed + survived), timeouts counted as killed. The native kernels answer to their float64
// references instead (test/ref/); this is for the code that orchestrates them.
//
// Per-test coverage: each mutant runs only the tests that executed its code in the first (dry) run.
// Incremental: results are kept in reports/stryker-incremental.json, and a rerun tests again only the
// mutants whose code or covering tests changed. `npm run mutate -- --force` ignores that file.
import { resolve } from 'node:path';

// The sandbox Stryker copies the project into has no build/ (see ignorePatterns): the tests load this
// checkout's native addon. One native thread per test process: Stryker runs `concurrency` of them.
process.env.METACOT_ADDON_DIR ??= resolve('build/Release');
process.env.METACOT_THREADS ??= '1';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.config.ts', related: true },
  // No type checker by default: on 2 cores it took one of them, halving the test runners. A mutant
  // that would not compile runs like any other (the tests transpile without type checks) and is
  // killed or survives by what it does. `npm run mutate -- --checkers typescript` adds the checker.
  checkers: [],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  // Static mutants (code that runs when a module loads: op definitions, schema defaults) cannot be
  // traced to tests, so each one would run every related test file in a fresh process: hours on 2
  // cores. They are reported as ignored, with their count; `npm run mutate -- --ignoreStatic false`
  // runs them too.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'reports/stryker-incremental.json',
  concurrency: 2,
  timeoutMS: 20000,
  dryRunTimeoutMinutes: 30,
  mutate: [
    'src/train/**/*.ts',
    'src/sample/**/*.ts',
    'src/data/flow.ts',
    'src/data/samples.ts',
    'src/data/sequence.ts',
    'src/data/pack.ts',
    'src/world/score.ts',
    'src/ops/**/*.ts',
    // stage 2, as it lands
    'src/judge/**/*.ts',
    'src/endpoint/**/*.ts',
    'src/eval/compare.ts',
    // the op table's test inputs (the cases every backend runs), not a wrapper: mutating them changes
    // what the tests feed the kernels, not what the engine computes
    '!src/ops/cases.ts',
    '!src/ops/index.ts',
  ],
  ignorePatterns: ['build', 'build-*', 'dist', 'reports', 'runs', 'out', 'metacot-demo*', '.gl'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
