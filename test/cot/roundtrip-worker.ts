// Worker thread of the round-trip suite: checks the categories it is given and posts the results.
import { parentPort, workerData } from 'node:worker_threads';
import type { CategoryName } from '../../src/world/categories.js';
import { checkCategory } from './roundtrip-check.js';

const { categories, n } = workerData as { categories: CategoryName[]; n: number };
parentPort!.postMessage(categories.map((c) => checkCategory(c, n)));
