// `metacot judge ...`: score a manifest of edits with a judge (the exact scene judges or a VLM over an
// OpenAI-compatible endpoint), calibrate a judge against labelled samples, write labelled samples
// from world edits, and serve the loopback VLM.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

import { type Command, InvalidArgumentError } from 'commander';

import { sampleContext } from '../data/samples.js';
import { resizeImage } from '../data/records.js';
import { loadTokenizer } from '../data/tokenizer.js';
import type { EndpointConfig } from '../endpoint/client.js';
import { DEFAULT_RECORDS, requireCalibrated } from '../judge/calibration.js';
import { WeightedJudge } from '../judge/compose.js';
import { degradeEditor, modelEditor } from '../judge/editors.js';
import { readLabels, writeLabels } from '../judge/labels.js';
import { LoopbackVlm } from '../judge/loopback.js';
import { makeJudge } from '../judge/make.js';
import { calibrate, labelsFromWorld, scoreManifest, worldScenes } from '../judge/run.js';
import { identityName } from '../judge/types.js';
import { VlmJudge } from '../judge/vlm.js';
import { loadCheckpoint, modelFromCheckpoint } from '../model/checkpoint.js';
import { Progress } from '../util/progress.js';
import { decodeImage } from '../world/image.js';
import { readWorldManifest } from '../world/manifest.js';
import { deviceOption, integer, nonNegative, positive } from './args.js';


interface EndpointOpts {
  endpoint?: string;
  model?: string;
  apiKeyEnv: string;
  concurrency: number;
  timeout: number;
  retries: number;
  cache?: string;
  logprobs: boolean;
}

function endpointOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'OpenAI-compatible API base URL, e.g. http://127.0.0.1:8000/v1 (VLM judges)')
    .option('--model <name>', 'model the endpoint serves (VLM judges)')
    .option('--api-key-env <name>', 'environment variable holding the API key (never printed or cached)', 'OPENAI_API_KEY')
    .option('--concurrency <n>', 'requests in flight', integer('--concurrency', 1, 1024), 8)
    .option('--timeout <s>', 'seconds per request', positive('--timeout'), 120)
    .option('--retries <n>', 'retries of a request that failed with 429, 5xx, a timeout or a refused connection', integer('--retries', 0, 20), 4)
    .option('--cache <dir>', 'folder of the VLM answer cache (a rerun pays nothing twice)', '.metacot-cache/judge')
    .option('--no-logprobs', 'read scores as written, not as expectations over the top log-probabilities');
}

function makeFrom(spec: string, o: EndpointOpts) {
  const endpoint: Partial<EndpointConfig> = {
    ...(o.endpoint && { endpoint: o.endpoint }),
    ...(o.model && { model: o.model }),
    apiKeyEnv: o.apiKeyEnv,
    concurrency: o.concurrency,
    timeoutMs: Math.round(o.timeout * 1000),
    retries: o.retries,
  };
  return makeJudge(spec, { endpoint: endpoint as EndpointConfig, vlm: { cacheDir: o.cache ? resolve(o.cache) : undefined, logprobs: o.logprobs } });
}

function vlmParts(judge: ReturnType<typeof makeJudge>): VlmJudge[] {
  if (judge instanceof VlmJudge) return [judge];
  if (!(judge instanceof WeightedJudge)) return [];
  return judge.parts.map((p) => p.judge).filter((j): j is VlmJudge => j instanceof VlmJudge);
}

function endpointLine(judge: ReturnType<typeof makeJudge>): string {
  const v = vlmParts(judge);
  if (v.length === 0) return '';
  const s = v[0].client.stats;
  const cache = v.reduce((a, j) => a + j.stats.cacheHits, 0);
  const unreadable = v.reduce((a, j) => a + j.stats.unreadable, 0);
  return `; endpoint: ${s.requests} requests (${s.retries} retries, at most ${s.maxInFlight} in flight), ${cache} answers from the cache, ${unreadable} unreadable answers`;
}

export function registerJudge(program: Command): void {
  const judge = program.command('judge').description('judges: the CEC reward and VIEScore, by the exact scene scorer or a VLM; calibration and its gate');

  endpointOptions(
    judge
      .command('score')
      .description('score every edit of a manifest (JSONL: source, instruction, cot, edited) with a judge')
      .requiredOption('--judge <spec>', 'gt | cec | vlm | vlm-cec, or a weighted sum such as cec:0.7,vlm-cec:0.3')
      .requiredOption('--manifest <file>', 'manifest of edits (the "edited" field, or --edited)')
      .option('--edited <dir>', 'edited images as <dir>/<line id>.png instead of the lines\' "edited" field')
      .option('--out <dir>', 'folder for verdicts.jsonl and summary.json', 'judge-out')
      .option('--json', 'print the summary as JSON')
      .option('--no-progress', 'no progress bar'),
  ).action(async (opts) => {
    const j = makeFrom(opts.judge, opts);
    const manifest = resolve(opts.manifest);
    if (!existsSync(manifest)) throw new Error(`--manifest: no such file '${opts.manifest}'`);
    if (opts.edited && !existsSync(opts.edited)) throw new Error(`--edited: no such folder '${opts.edited}'`);
    let bar: Progress | null = null;
    let failures = 0;
    const summary = await scoreManifest(j, manifest, resolve(opts.out), {
      ...(opts.edited && { edited: (line, id) => join(resolve(opts.edited), `${line.id ?? id}.png`) }),
      onItem: (done, total, v) => {
        if (!bar) {
          bar = new Progress({ label: `judge ${identityName(j.identity)}`, total, fields: 'failures {failures}', quiet: !opts.progress || opts.json });
          bar.update(0, { failures: 0 });
        }
        if (!v.ok) failures++;
        bar.update(done, { failures });
      },
    });
    (bar as Progress | null)?.stop();
    if (opts.json) {
      console.log(JSON.stringify(summary, null, 2));
      return;
    }
    const fails = Object.entries(summary.failures).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    console.log(
      `judged ${summary.lines} edits with ${summary.name}: overall ${summary.overall === null ? '-' : summary.overall.toFixed(3)} over ${summary.scored} scored; ` +
        `failures ${fails}; CoT errors ${summary.cotErrors}; ${summary.itemsPerSecond.toFixed(1)} edits/s${endpointLine(j)}`,
    );
    console.log(`wrote ${join(resolve(opts.out), 'verdicts.jsonl')} and summary.json`);
  });

  endpointOptions(
    judge
      .command('calibrate')
      .description('run a judge over labelled samples (CSV: id, source, edited, instruction, cot, label); Pearson, Spearman, MAE, a scatter plot and a calibration record')
      .requiredOption('--judge <spec>', 'gt | cec | vlm | vlm-cec, or a weighted sum')
      .requiredOption('--labels <file>', 'labelled samples (CSV)')
      .option('--world <dir>', 'the world data set the samples come from (the scene judges need its scenes)')
      .option('--records <dir>', 'folder of calibration records (the RL trainer reads them)', DEFAULT_RECORDS)
      .option('--out <dir>', 'folder for calibration.html and calibration.json (default: beside the labels)')
      .option('--json', 'print the record as JSON')
      .option('--no-progress', 'no progress bar'),
  ).action(async (opts) => {
    const j = makeFrom(opts.judge, opts);
    const labelsFile = resolve(opts.labels);
    const rows = readLabels(labelsFile);
    const scenes = opts.world ? await worldScenes(resolve(opts.world)) : undefined;
    const bar = new Progress({ label: `calibrate ${identityName(j.identity)}`, total: rows.length, quiet: !opts.progress || opts.json });
    bar.update(0);
    const out = await calibrate(j, rows, dirname(labelsFile), {
      labelsFile,
      recordsDir: resolve(opts.records),
      outDir: resolve(opts.out ?? dirname(labelsFile)),
      scenes,
      onItem: (done) => bar.update(done),
    });
    bar.stop();
    const r = out.record;
    if (opts.json) {
      console.log(JSON.stringify(r, null, 2));
      return;
    }
    console.log(
      `calibrated ${r.name} on ${r.n} labelled samples (${r.failures} failed): Pearson r ${r.pearson.toFixed(4)}, Spearman rho ${r.spearman.toFixed(4)}, MAE ${r.mae.toFixed(4)}; ` +
        `gate (r >= ${r.gate.minPearson}, MAE <= ${r.gate.maxMae}): ${r.passed ? 'passed' : 'NOT passed'}${endpointLine(j)}`,
    );
    console.log(`wrote ${out.recordFile} and ${out.html}`);
  });

  judge
    .command('gate')
    .description('check that a judge has a passing calibration record (what the RL trainer checks); exit status 1 if not')
    .requiredOption('--judge <spec>', 'gt | cec | vlm | vlm-cec, or a weighted sum')
    .option('--model <name>', 'the VLM model name (VLM judges)')
    .option('--records <dir>', 'folder of calibration records', DEFAULT_RECORDS)
    .action((opts) => {
      if (/vlm/.test(opts.judge) && !opts.model) throw new Error(`--judge ${opts.judge}: a VLM judge's calibration record is per model: pass --model NAME`);
      // no request is made: the endpoint only completes the judge's identity
      const j = makeJudge(opts.judge, { endpoint: { endpoint: 'http://127.0.0.1:1/v1', model: opts.model } });
      try {
        const { record } = requireCalibrated(j.identity, resolve(opts.records));
        console.log(`${identityName(j.identity)} is calibrated: r ${record!.pearson.toFixed(4)}, MAE ${record!.mae.toFixed(4)} on ${record!.n} samples (${record!.date})`);
      } catch (e) {
        console.error((e as Error).message);
        process.exitCode = 1;
      }
    });

  judge
    .command('labels')
    .description('write labelled samples (CSV) from world edits, each labelled with its exact gt score')
    .requiredOption('--from-world <dir>', 'a world data set (metacot world generate)')
    .requiredOption('--out <file>', 'labels CSV (edited images go to <its folder>/edited/)')
    .option('--checkpoint <file>', 'edit with this trained model (think-then-edit); default: seeded degradations of the target')
    .option('--ema', 'use the EMA weights of the checkpoint')
    .option('--steps <n>', 'ODE steps (with --checkpoint)', integer('--steps', 1, 1000), 20)
    .option('--cfg-text <s>', 'text guidance scale (with --checkpoint)', nonNegative('--cfg-text'), 2)
    .option('--cfg-img <s>', 'image guidance scale (with --checkpoint)', nonNegative('--cfg-img'), 1.5)
    .option('--device <d>', 'cpu | cuda | auto', deviceOption('--device'), 'cpu')
    .option('--split <which>', 'train | eval | all', (v: string) => {
      if (v !== 'train' && v !== 'eval' && v !== 'all') throw new InvalidArgumentError(`--split must be train, eval or all, got "${v}"`);
      return v;
    }, 'eval')
    .option('--limit <n>', 'at most this many lines', integer('--limit', 1))
    .option('--seed <n>', 'seed of the degradations / the sampling noise', integer('--seed', 0, 2 ** 32 - 1), 0)
    .option('--no-progress', 'no progress bar')
    .action(async (opts) => {
      const world = resolve(opts.fromWorld);
      if (!existsSync(join(world, 'manifest.jsonl'))) throw new Error(`--from-world: '${opts.fromWorld}' holds no manifest.jsonl (make one with metacot world generate)`);
      let editor;
      let dispose = () => {};
      if (opts.checkpoint) {
        if (!existsSync(opts.checkpoint)) throw new Error(`--checkpoint: no such file '${opts.checkpoint}'`);
        const ck = loadCheckpoint(opts.checkpoint);
        if (!ck.tokenizer) throw new Error(`--checkpoint: '${opts.checkpoint}' holds no tokenizer`);
        const model = modelFromCheckpoint(ck, { grads: false, weights: opts.ema ? 'ema' : 'model', device: opts.device });
        dispose = () => model.dispose();
        const edit = modelEditor(model, sampleContext(ck.config, loadTokenizer(ck.tokenizer)), { steps: opts.steps, cfgText: opts.cfgText, cfgImg: opts.cfgImg }, opts.seed);
        editor = async (l: Parameters<typeof edit>[0]) => edit({ ...l, source: await resizeImage(l.source, ck.config.imageSize) });
      } else {
        const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
        editor = degradeEditor(new Map(lines.map((l) => [l.id, l])), opts.seed);
      }
      let bar: Progress | null = null;
      try {
        const out = resolve(opts.out);
        const rows = await labelsFromWorld(world, out, editor, {
          ...(opts.split !== 'all' && { split: opts.split }),
          ...(opts.limit && { limit: opts.limit }),
          onItem: (done, total) => {
            if (!bar) {
              bar = new Progress({ label: 'labels', total, quiet: !opts.progress });
              bar.update(0);
            }
            bar.update(done);
          },
        });
        (bar as Progress | null)?.stop();
        await writeLabels(out, rows);
        const mean = rows.reduce((a, r) => a + r.label, 0) / Math.max(1, rows.length);
        console.log(`wrote ${rows.length} labelled samples to ${out} (mean label ${mean.toFixed(3)}; editor: ${opts.checkpoint ? `model ${opts.checkpoint}` : 'degradations'})`);
      } finally {
        dispose();
      }
    });

  judge
    .command('serve-loopback')
    .description('serve the loopback VLM (answers the judge prompts from the exact scorer plus seeded noise) for a world data set')
    .requiredOption('--world <dir>', 'a world data set: the edits it can score')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free one)', integer('--port', 0, 65535), 8011)
    .option('--noise <s>', 'standard deviation of the noise on the exact scores', nonNegative('--noise'), 0.7)
    .option('--seed <n>', 'noise seed', integer('--seed', 0, 2 ** 32 - 1), 0)
    .option('--delay <ms>', 'latency added to every answer (ms)', nonNegative('--delay'), 0)
    .action(async (opts) => {
      const world = resolve(opts.world);
      const lines = await readWorldManifest(join(world, 'manifest.jsonl'));
      const edits = await Promise.all(lines.map(async (l) => ({ source: await decodeImage(join(world, l.source)), sourceScene: l.world.sourceScene, targetScene: l.world.targetScene })));
      const vlm = new LoopbackVlm(edits, { noise: opts.noise, seed: opts.seed, delayMs: opts.delay });
      const url = await vlm.listen(opts.port);
      console.log(`loopback VLM for ${edits.length} world edits at ${url} (model name: any); Ctrl-C stops it`);
      await new Promise<void>((r) => {
        process.once('SIGINT', r);
        process.once('SIGTERM', r);
      });
      await vlm.close();
      console.log(`served ${vlm.stats.requests} requests (${vlm.stats.unknownImages} for images it did not know)`);
    });
}
