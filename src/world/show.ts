// The "show" page: a static HTML grid of source / instruction / target per category, so a person
// can check the world by eye. Images are referenced by relative path (the page sits in the data
// set folder) or, with `inline`, embedded as data URLs so the page travels alone.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { CATEGORIES, CATEGORY_NAMES } from './categories.js';
import { MANIFEST_FILE } from './dataset.js';
import { readWorldManifest, type WorldManifestLine } from './manifest.js';
import { opSummary } from './ops.js';

export interface ShowOptions {
  /** Samples shown per category (default 6). */
  perCategory?: number;
  /** Page file name inside the folder (default show.html). */
  file?: string;
  /** Embed images as data URLs instead of relative paths. */
  inline?: boolean;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

async function imageSrc(dir: string, rel: string, inline: boolean): Promise<string> {
  if (!inline) return rel.split('/').map(encodeURIComponent).join('/');
  const bytes = await readFile(join(dir, rel));
  return `data:image/png;base64,${bytes.toString('base64')}`;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
h2 { margin: 1.4em 0 0.2em; font-size: 1.1em; }
.meta { color: #666; font-size: 0.85em; margin-bottom: 0.5em; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 10px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px; display: grid; grid-template-columns: 128px 1fr 128px; gap: 8px; align-items: center; }
.card img { width: 128px; height: 128px; image-rendering: pixelated; border: 1px solid #ccc; }
.text { font-size: 0.9em; }
.ops { color: #777; font-size: 0.75em; font-family: monospace; margin-top: 4px; }
`;

/** Writes the page into the data set folder and returns its path. */
export async function writeShowPage(dir: string, opts: ShowOptions = {}): Promise<string> {
  const per = opts.perCategory ?? 6;
  if (!Number.isInteger(per) || per < 1) throw new RangeError(`writeShowPage: perCategory must be a positive integer, got ${per}`);
  const lines = await readWorldManifest(join(dir, MANIFEST_FILE));
  const byCategory = new Map<string, WorldManifestLine[]>();
  for (const l of lines) byCategory.set(l.category, [...(byCategory.get(l.category) ?? []), l]);
  const sections: string[] = [];
  for (const name of CATEGORY_NAMES) {
    const rows = (byCategory.get(name) ?? []).slice(0, per);
    if (rows.length === 0) continue;
    const info = CATEGORIES[name];
    const cards: string[] = [];
    for (const l of rows) {
      const src = await imageSrc(dir, l.source, opts.inline ?? false);
      const tgt = await imageSrc(dir, l.target, opts.inline ?? false);
      const ops = l.world.ops.map((op) => escapeHtml(opSummary(op))).join('<br>');
      cards.push(
        `<div class="card"><img src="${src}" alt="source ${escapeHtml(l.id)}" title="source">` +
          `<div class="text">${escapeHtml(l.instruction)}<div class="ops">${escapeHtml(l.world.metaTasks.join(', '))}<br>${ops}</div></div>` +
          `<img src="${tgt}" alt="target ${escapeHtml(l.id)}" title="target"></div>`,
      );
    }
    sections.push(
      `<section id="${name}"><h2>${info.index}. ${escapeHtml(name)}</h2>` +
        `<div class="meta">anchor: ${escapeHtml(info.anchor)} · meta-tasks: ${escapeHtml(info.metaTasks.join(' / '))} · understanding: ${escapeHtml(info.understanding.join(', '))} · ${byCategory.get(name)!.length} samples</div>` +
        `<div class="grid">${cards.join('\n')}</div></section>`,
    );
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>metacot world: ${escapeHtml(dir)}</title><style>${STYLE}</style></head>
<body><h1>metacot synthetic editing world</h1>
<p>${lines.length} edits from <code>${escapeHtml(MANIFEST_FILE)}</code>. Each card: source, instruction (meta-tasks and ops below it), target.</p>
${sections.join('\n')}
</body></html>
`;
  const file = join(dir, opts.file ?? 'show.html');
  await writeFileAtomic(file, html);
  return file;
}
