// Types of find-nvcc.mjs, for the TypeScript tests that import it.
/** The absolute path of nvcc, or null when none is found. */
export function findNvcc(): string | null;
