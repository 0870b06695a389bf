// The VLM judges' on-disk cache: one JSONL file per judge folder, a line per answer that parsed,
// keyed by a hash of what determines the answer — the model, the prompt version and id, the texts
// sent and the hashes of the images (never the API key). A rerun reads it first and asks the
// endpoint only for what is not there. Lines are appended as answers arrive, so a run that dies
// keeps what it paid for; a torn last line is skipped.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { dirname } from 'node:path';

import type { TokenLogprobs } from '../endpoint/client.js';

export interface CachedAnswer {
  content: string;
  logprobs?: TokenLogprobs[];
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The cache key of a request: a hash of its parts (strings and image hashes), in order. */
export function cacheKey(parts: readonly unknown[]): string {
  return sha256(JSON.stringify(parts));
}

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
  hits = 0;
  writes = 0;

  constructor(readonly file: string) {
    if (!existsSync(file)) return;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const e = JSON.parse(line) as { key: string } & CachedAnswer;
        if (typeof e.key === 'string' && typeof e.content === 'string') this.entries.set(e.key, { content: e.content, ...(e.logprobs && { logprobs: e.logprobs }) });
      } catch {
        // a line torn by a crash mid-append: that answer is asked for again
      }
    }
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): CachedAnswer | undefined {
    const e = this.entries.get(key);
    if (e) this.hits++;
    return e;
  }

  async put(key: string, answer: CachedAnswer): Promise<void> {
    this.entries.set(key, answer);
    mkdirSync(dirname(this.file), { recursive: true });
    await appendFile(this.file, `${JSON.stringify({ key, ...answer })}\n`);
    this.writes++;
  }
}
