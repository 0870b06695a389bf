// Atomic file output: write to a temporary file beside the destination, then rename over it, so a
// reader (or a crash) never sees half a file.

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

let counter = 0;

function tempPath(path: string): string {
  counter = (counter + 1) % 1e9;
  return `${path}.tmp-${process.pid}-${counter}`;
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempPath(path);
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Streams lines to a temporary file; commit() renames it into place, abort() deletes it. */
export class AtomicLineWriter {
  private readonly tmp: string;
  private stream: WriteStream | null = null;
  private failure: Error | null = null;

  constructor(readonly path: string) {
    this.tmp = tempPath(path);
  }

  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.stream = createWriteStream(this.tmp, { encoding: 'utf8' });
    this.stream.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Writes one line (a newline is added); resolves when the stream can take more. */
  async writeLine(line: string): Promise<void> {
    if (!this.stream) throw new Error(`AtomicLineWriter: open() ${this.path} before writing`);
    if (this.failure) throw this.failure;
    if (!this.stream.write(`${line}\n`)) await new Promise<void>((resolve) => this.stream!.once('drain', resolve));
  }

  async commit(): Promise<void> {
    const stream = this.stream;
    if (!stream) throw new Error(`AtomicLineWriter: open() ${this.path} before commit()`);
    await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
    if (this.failure) throw this.failure;
    await rename(this.tmp, this.path);
  }

  async abort(): Promise<void> {
    this.stream?.destroy();
    await rm(this.tmp, { force: true });
  }
}
