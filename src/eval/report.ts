// The demo's report: report.json (machine-readable results) and report.html beside it (loss curves,
// per-category scores against the baselines, and a grid of input / CoT / output / target; with an RL
// stage, its reward curve and the before / after table with bootstrap intervals).
import { encodePng, type RgbImage } from '../world/image.js';
import { writeFileAtomic } from '../model/safetensors.js';
import { type BenchResult, categoryTable } from './benchmark.js';
import { METRICS, type RunComparison } from './compare.js';
import { categoryBarsSpec, lossCurveSpec, renderSvg } from './charts.js';

export interface ReportData {
  title: string;
  json: Record<string, unknown>;
  trained: BenchResult;
  untrained: BenchResult | null;
  copy: BenchResult;
  metrics: { step: number; ce: number; mse: number; loss: number }[];
  /** per category, the source/target images of the first sample (grid) */
  grid: { category: string; instruction: string; source: RgbImage; target: RgbImage; output: RgbImage; cot: string; overall: number }[];
  notes: string[];
  /** the RL stage after SFT (demo --rl): its reward curve, and the same eval seeds before and after */
  rl?: {
    metrics: { step: number; rewardMean: number; rewardStd: number }[];
    result: BenchResult;
    comparison: RunComparison;
    judge: string;
  };
}

function comparisonTable(c: RunComparison): string {
  const cell = (x: { mean: number; lo: number; hi: number }) => `${x.mean.toFixed(2)} <small>[${x.lo.toFixed(2)}, ${x.hi.toFixed(2)}]</small>`;
  const head = `<tr><th rowspan="2">category</th>${METRICS.map((m) => `<th colspan="3">${m}</th>`).join('')}</tr><tr>${METRICS.map(() => '<th>SFT</th><th>SFT + RL</th><th>change</th>').join('')}</tr>`;
  const row = (name: string, r: RunComparison['benchmark']) =>
    `<tr><td class="cat">${esc(name)}</td>${METRICS.map((m) => `<td>${cell(r[m].before)}</td><td>${cell(r[m].after)}</td><td>${cell(r[m].diff)}</td>`).join('')}</tr>`;
  const body = [row('benchmark', c.benchmark), ...Object.entries(c.categories).map(([k, v]) => row(k, v))].join('');
  return `<table><caption>same eval seeds before and after RL: mean [95% bootstrap interval, ${c.resamples} resamples, ${c.n} edits]</caption>${head}${body}</table>`;
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

async function dataUrl(img: RgbImage): Promise<string> {
  return `data:image/png;base64,${(await encodePng(img)).toString('base64')}`;
}

function table(rows: Record<string, Record<string, number>>, systems: string[], key: string): string {
  const cats = Object.keys(rows[systems[0]] ?? {});
  const head = `<tr><th>category</th>${systems.map((s) => `<th>${esc(s)}</th>`).join('')}</tr>`;
  const body = cats
    .map((c) => `<tr><td>${esc(c)}</td>${systems.map((s) => `<td>${(rows[s]?.[c] ?? NaN).toFixed(2)}</td>`).join('')}</tr>`)
    .join('');
  return `<table><caption>${esc(key)}</caption>${head}${body}</table>`;
}

export async function writeReport(dir: string, d: ReportData): Promise<{ json: string; html: string }> {
  const jsonPath = `${dir}/report.json`;
  const htmlPath = `${dir}/report.html`;
  writeFileAtomic(jsonPath, `${JSON.stringify(d.json, null, 2)}\n`);
  const systems: [string, BenchResult | null][] = [
    ['Meta-CoT SFT', d.trained],
    ['untrained', d.untrained],
    ['copy input', d.copy],
  ];
  const overall: Record<string, Record<string, number>> = {};
  const bars: { category: string; system: string; value: number }[] = [];
  for (const [name, r] of systems) {
    if (!r) continue;
    overall[name] = Object.fromEntries(Object.entries(categoryTable(r.summary)).map(([c, v]) => [c, v.overall]));
    for (const [c, v] of Object.entries(overall[name])) bars.push({ category: c, system: name, value: v });
  }
  const curve = d.metrics.flatMap((m) => [
    { step: m.step, value: Math.max(m.ce, 1e-6), series: 'CE (CoT tokens)' },
    { step: m.step, value: Math.max(m.mse, 1e-6), series: 'MSE (velocity)' },
  ]);
  const lossSvg = curve.length ? await renderSvg(lossCurveSpec(curve, 'training loss')) : '<p>no training steps</p>';
  const barSvg = await renderSvg(categoryBarsSpec(bars, 'Overall per category'));
  const detail: Record<string, Record<string, number>> = {};
  for (const k of ['ins', 'con', 'nat', 'art'] as const)
    detail[k] = Object.fromEntries(Object.entries(categoryTable(d.trained.summary)).map(([c, v]) => [c, v[k]]));
  const gridRows = await Promise.all(
    d.grid.map(
      async (g) => `<tr><td class="cat">${esc(g.category)}<br><small>overall ${g.overall.toFixed(2)}</small></td>
<td><img src="${await dataUrl(g.source)}"></td><td class="ins">${esc(g.instruction)}</td>
<td class="cot">${esc(g.cot)}</td><td><img src="${await dataUrl(g.output)}"></td><td><img src="${await dataUrl(g.target)}"></td></tr>`,
    ),
  );
  let rlHtml = '';
  if (d.rl) {
    const rc = d.rl.metrics.flatMap((m) => [
      { step: m.step, value: m.rewardMean, series: 'reward mean' },
      { step: m.step, value: m.rewardStd, series: 'reward std' },
    ]);
    const rewardSvg = rc.length ? await renderSvg(lossCurveSpec(rc, `RL reward (${d.rl.judge})`, { title: 'reward (0-10)', log: false })) : '<p>no RL steps</p>';
    const rb: { category: string; system: string; value: number }[] = [];
    for (const [name, r] of [['Meta-CoT SFT', d.trained], ['SFT + RL', d.rl.result]] as const)
      for (const [c, v] of Object.entries(categoryTable(r.summary))) rb.push({ category: c, system: name, value: v.overall });
    rlHtml = `<h2>RL stage</h2>${rewardSvg}${await renderSvg(categoryBarsSpec(rb, 'Overall per category, before and after RL'))}${comparisonTable(d.rl.comparison)}`;
  }
  const bench = (r: BenchResult | null) => (r ? r.summary.benchmark.overall.toFixed(3) : '-');
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${esc(d.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;margin:12px 0}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td.cat,td.ins,td.cot{text-align:left}
td.cot{font:11px monospace;max-width:420px}img{width:96px;height:96px;image-rendering:pixelated}
.summary td{text-align:left}</style></head><body>
<h1>${esc(d.title)}</h1>
<table class="summary"><tr><th>system</th><th>benchmark Overall</th><th>CoT parse rate</th></tr>
<tr><td>Meta-CoT SFT</td><td>${bench(d.trained)}</td><td>${d.trained.cotParseRate === null ? '-' : (100 * d.trained.cotParseRate).toFixed(1) + '%'}</td></tr>
<tr><td>untrained model</td><td>${bench(d.untrained)}</td><td>${d.untrained?.cotParseRate == null ? '-' : (100 * d.untrained.cotParseRate).toFixed(1) + '%'}</td></tr>
${d.rl ? `<tr><td>SFT + RL</td><td>${bench(d.rl.result)}</td><td>${d.rl.result.cotParseRate === null ? '-' : (100 * d.rl.result.cotParseRate).toFixed(1) + '%'}</td></tr>` : ''}
<tr><td>copy the input</td><td>${bench(d.copy)}</td><td>-</td></tr></table>
<ul>${d.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>
<h2>Training</h2>${lossSvg}
<h2>Scores</h2>${barSvg}
${table(overall, Object.keys(overall), 'Overall (0-10)')}
${table(detail, ['ins', 'con', 'nat', 'art'], 'Meta-CoT SFT: Ins / Con / Nat / Art')}
${rlHtml}
<h2>Samples</h2><table><tr><th>category</th><th>input</th><th>instruction</th><th>generated CoT</th><th>output</th><th>target</th></tr>
${gridRows.join('\n')}</table>
</body></html>
`;
  writeFileAtomic(htmlPath, html);
  return { json: jsonPath, html: htmlPath };
}
