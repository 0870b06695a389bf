// Boots the round-trip worker thread: loads its TypeScript through tsx (vitest's transform does not
// reach worker threads).
import { tsImport } from 'tsx/esm/api';

await tsImport('./roundtrip-worker.ts', import.meta.url);
