// `metacot demo`: the main job on the built-in world. Trains the tiny preset with Meta-CoT SFT for a
// fixed budget, evaluates the 21-category benchmark with the exact scorer against two baselines (the
// untrained model and copying the input), and writes report.json + report.html. With --rl, a
// Flow-GRPO stage follows SFT and the report adds its reward curve and the before / after scores.
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { Command } from 'commander';

import { MotModel } from '../model/model.js';
import { describeBackend, loadBackend } from '../native/loader.js';
import { type BenchResult, benchSamples, categoryTable, evaluateCopy, evaluateModel } from '../eval/benchmark.js';
import { METRICS, compareRuns } from '../eval/compare.js';
import { type ReportData, writeReport } from '../eval/report.js';
import { DEFAULT_RECORDS } from '../judge/calibration.js';
import { identityName } from '../judge/types.js';
import { parseRlConfig } from '../train/rl-config.js';
import { gatedJudge, rlOnWorld } from '../train/rl-run.js';
import { parseSftConfig } from '../train/config.js';
import { trainOnWorld } from '../train/run.js';
import { Progress } from '../util/progress.js';
import { CATEGORY_NAMES, SUBSETS } from '../world/categories.js';
import { deviceOption, integer, nonNegative } from './args.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('train the tiny preset with Meta-CoT SFT on the built-in world, evaluate 21 categories, write report.html')
    .option('--out <dir>', 'output folder', 'metacot-demo')
    .option('--quick', 'a ~2-minute version (fewer steps and eval samples)')
    .option('--steps <n>', 'training steps (default 3000; --quick 150)', nonNegative('--steps'))
    .option('--minutes <m>', 'cap on training minutes (default 12; --quick 1)', nonNegative('--minutes'))
    .option('--per-category <n>', 'eval samples per category (default 5; --quick 1)', nonNegative('--per-category'))
    .option('--ode-steps <n>', 'ODE steps at evaluation (default 20)', nonNegative('--ode-steps'))
    .option('--cfg-text <s>', 'text guidance scale at evaluation', nonNegative('--cfg-text'), 2)
    .option('--cfg-img <s>', 'image guidance scale at evaluation', nonNegative('--cfg-img'), 1.5)
    .option('--seed <n>', 'seed', nonNegative('--seed'), 1)
    .option('--device <d>', 'where to train and evaluate: cpu | cuda | auto', deviceOption('--device'), 'cpu')
    .option('--rl', 'add a Flow-GRPO stage after SFT (gen expert) and evaluate again on the same seeds')
    .option('--rl-steps <n>', 'RL steps (default 20; --quick 2)', integer('--rl-steps', 1))
    .option('--rl-minutes <m>', 'cap on RL minutes (default 10; --quick 2)', nonNegative('--rl-minutes'))
    .option('--rl-prompts <n>', 'prompts per RL step', integer('--rl-prompts', 1), 2)
    .option('--rl-group <n>', 'rollouts per prompt (default 8; --quick 4)', integer('--rl-group', 2))
    .option(
      '--rl-judge <spec>',
      "the RL reward (gt | cec | ...): default gt, the exact scene scorer, because the demo's SFT model writes CoTs the CEC judge cannot apply (bench/RESULTS.md); a judge without a passing calibration record is let through and named so in the report",
      'gt',
    )
    .option('--records <dir>', 'folder of calibration records', DEFAULT_RECORDS)
    .action(async (opts) => {
      const t0 = performance.now();
      const out = resolve(opts.out);
      mkdirSync(out, { recursive: true });
      const quick = Boolean(opts.quick);
      const steps = opts.steps ?? (quick ? 150 : 3000);
      const minutes = opts.minutes ?? (quick ? 1 : 12);
      const perCategory = opts.perCategory ?? (quick ? 1 : 5);
      const odeSteps = opts.odeSteps ?? 20;
      console.error(describeBackend());
      const cfg = parseSftConfig({
        out: join(out, 'run'),
        preset: 'tiny',
        seed: opts.seed,
        device: opts.device,
        steps,
        minutes,
        lr: 1e-3,
        minLr: 1e-4,
        warmupSteps: Math.min(50, Math.floor(steps / 10)),
        schedule: 'cosine',
        checkpointEvery: 200,
        data: { variant: 'meta', categories: 'full' },
      });
      console.error(`metacot demo: training ${steps} steps (at most ${minutes} min), then ${perCategory} eval samples x 21 categories, ${odeSteps} ODE steps`);
      const trained = await trainOnWorld(cfg, { log: (l) => console.error(l) });
      const { ctx } = trained.prepared;
      const samples = benchSamples(CATEGORY_NAMES, perCategory, 1000 + opts.seed, cfg.data.evalFraction, trained.prepared.modelConfig.imageSize);
      const editOpts = { steps: odeSteps, think: true, maxCotTokens: 160, cfgText: opts.cfgText, cfgImg: opts.cfgImg };
      const evalRun = async (label: string, m: MotModel): Promise<BenchResult> => {
        const p = new Progress({ label: `eval ${label}`, total: samples.length });
        try {
          return await evaluateModel(m, ctx, samples, editOpts, (d) => p.update(d));
        } finally {
          p.stop();
        }
      };
      const trainedEval = await evalRun('trained', trained.model);
      trained.model.dispose();
      let rl: ReportData['rl'];
      let rlJson: Record<string, unknown> | null = null;
      if (opts.rl) {
        const rlCfg = parseRlConfig({
          out: join(out, 'rl'),
          seed: opts.seed,
          steps: opts.rlSteps ?? (quick ? 2 : 20),
          minutes: opts.rlMinutes ?? (quick ? 2 : 10),
          prompts: opts.rlPrompts,
          groupSize: opts.rlGroup ?? (quick ? 4 : 8),
          maxCotTokens: 160,
          cfgText: opts.cfgText,
          cfgImg: opts.cfgImg,
          checkpointEvery: 5,
        });
        const gate = gatedJudge(opts.rlJudge, resolve(opts.records), { allowUncalibrated: true });
        const judgeName = `${identityName(gate.judge.identity)}${gate.calibrated ? '' : ', uncalibrated'}`;
        console.error(`metacot demo: RL, ${rlCfg.steps} steps (at most ${rlCfg.minutes} min) of ${rlCfg.prompts} x ${rlCfg.groupSize} rollouts, judge ${judgeName}`);
        const r = await rlOnWorld(rlCfg, join(cfg.out, 'checkpoint.safetensors'), gate, { log: (l) => console.error(l) });
        const rlEval = await evalRun('SFT + RL', r.model);
        r.model.dispose();
        const comparison = compareRuns(trainedEval, rlEval);
        rl = { metrics: r.result.metrics, result: rlEval, comparison, judge: judgeName };
        const perStep = r.result.metrics.reduce((a, m) => a + m.seconds.total, 0) / Math.max(1, r.result.metrics.length);
        rlJson = { steps: r.result.steps, stopped: r.result.stopped, seconds: r.seconds, seconds_per_step: perStep, judge: judgeName, config: rlCfg, metrics: r.result.metrics, overall: rlEval.summary.benchmark.overall, categories: categoryTable(rlEval.summary), comparison };
      }
      const untrainedModel = MotModel.create(trained.prepared.modelConfig, { seed: cfg.seed, grads: false, device: cfg.device });
      const untrainedEval = await evalRun('untrained', untrainedModel);
      untrainedModel.dispose();
      const copyEval = evaluateCopy(samples);
      const metricsLines = readFileSync(join(cfg.out, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean);
      const metrics = metricsLines.map((l) => JSON.parse(l) as { step: number; ce: number; mse: number; loss: number; tokensPerSec: number; samplesPerSec: number; flopsPerSec: number; mfu: number | null });
      const tail = metrics.slice(-Math.max(1, Math.floor(metrics.length / 10)));
      const avg = (k: 'tokensPerSec' | 'samplesPerSec' | 'flopsPerSec') => tail.reduce((a, m) => a + m[k], 0) / tail.length;
      const meta5 = SUBSETS['5meta'];
      const subsetOverall = (r: BenchResult) => meta5.reduce((a, c) => a + (r.summary.categories[c]?.overall ?? 0), 0) / meta5.length;
      const seconds = (performance.now() - t0) / 1000;
      const json = {
        categories: categoryTable(trainedEval.summary),
        overall: trainedEval.summary.benchmark.overall,
        ins: trainedEval.summary.benchmark.ins,
        con: trainedEval.summary.benchmark.con,
        nat: trainedEval.summary.benchmark.nat,
        art: trainedEval.summary.benchmark.art,
        cot_parse_rate: trainedEval.cotParseRate,
        cot_complete_rate: trainedEval.rows.filter((r) => r.cotComplete).length / trainedEval.rows.length,
        meta5_overall: { trained: subsetOverall(trainedEval), untrained: subsetOverall(untrainedEval), copy_input: subsetOverall(copyEval) },
        baselines: {
          untrained: { categories: categoryTable(untrainedEval.summary), overall: untrainedEval.summary.benchmark.overall, cot_parse_rate: untrainedEval.cotParseRate },
          copy_input: { categories: categoryTable(copyEval.summary), overall: copyEval.summary.benchmark.overall },
        },
        training: {
          steps: trained.result.steps,
          stopped: trained.result.stopped,
          seconds: trained.seconds,
          final: metrics.at(-1) ?? null,
          tokens_per_sec: avg('tokensPerSec'),
          samples_per_sec: avg('samplesPerSec'),
          model_flops_per_sec: avg('flopsPerSec'),
          gemm_peak_flops: trained.peakFlops,
          peak_source: trained.peakSource,
          mfu: avg('flopsPerSec') / trained.peakFlops,
        },
        eval: { per_category: perCategory, ode_steps: odeSteps, seconds: { trained: trainedEval.seconds, untrained: untrainedEval.seconds } },
        backend: { device: loadBackend().device, simd: loadBackend().info.simd, threads: loadBackend().info.threads },
        config: cfg,
        rl: rlJson,
        seconds,
      };
      const grid = CATEGORY_NAMES.map((c) => {
        const i = trainedEval.rows.findIndex((r) => r.category === c);
        const s = samples[i];
        return { category: c, instruction: s.edit.instruction, source: s.source, target: s.target, output: trainedEval.rows[i].output, cot: trainedEval.rows[i].cot, overall: trainedEval.rows[i].scores.overall };
      });
      const paths = await writeReport(out, {
        title: 'metacot demo: Meta-CoT SFT on the synthetic editing world (tiny preset, CPU)',
        json,
        trained: trainedEval,
        untrained: untrainedEval,
        copy: copyEval,
        metrics,
        grid,
        rl,
        notes: [
          `${trained.result.steps} SFT steps in ${trained.seconds.toFixed(0)} s; ${avg('samplesPerSec').toFixed(1)} samples/s, ${avg('tokensPerSec').toFixed(0)} tokens/s, ${(avg('flopsPerSec') / 1e9).toFixed(1)} GFLOP/s = ${(100 * json.training.mfu).toFixed(1)}% of ${(trained.peakFlops / 1e9).toFixed(0)} GFLOP/s (${trained.peakSource})`,
          `evaluation: ${perCategory} eval-split edits per category, think mode (greedy CoT), ${odeSteps} ODE steps, CFG text ${opts.cfgText} / image ${opts.cfgImg} (text_channel renorm)`,
          `five meta-task categories (${meta5.join(', ')}): Overall ${json.meta5_overall.trained.toFixed(2)} trained vs ${json.meta5_overall.untrained.toFixed(2)} untrained vs ${json.meta5_overall.copy_input.toFixed(2)} copy input`,
          ...(rl
            ? [
                `RL: ${rl.metrics.length} Flow-GRPO steps, judge ${rl.judge}; benchmark Overall ${rl.comparison.benchmark.overall.before.mean.toFixed(3)} -> ${rl.comparison.benchmark.overall.after.mean.toFixed(3)} ` +
                  `(change ${rl.comparison.benchmark.overall.diff.mean.toFixed(3)}, 95% [${rl.comparison.benchmark.overall.diff.lo.toFixed(3)}, ${rl.comparison.benchmark.overall.diff.hi.toFixed(3)}]), Ins change ${rl.comparison.benchmark.ins.diff.mean.toFixed(3)} [${rl.comparison.benchmark.ins.diff.lo.toFixed(3)}, ${rl.comparison.benchmark.ins.diff.hi.toFixed(3)}]`,
              ]
            : []),
          `total ${seconds.toFixed(0)} s`,
        ],
      });
      const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
      console.log(`\n${'category'.padEnd(20)}  ins   con   nat   art   overall | untrained  copy`);
      for (const c of CATEGORY_NAMES) {
        const a = trainedEval.summary.categories[c];
        console.log(
          `${c.padEnd(20)} ${a.ins.toFixed(2).padStart(5)} ${a.con.toFixed(2).padStart(5)} ${a.nat.toFixed(2).padStart(5)} ${a.art.toFixed(2).padStart(5)} ${a.overall.toFixed(2).padStart(7)} | ${untrainedEval.summary.categories[c].overall.toFixed(2).padStart(9)} ${copyEval.summary.categories[c].overall.toFixed(2).padStart(5)}`,
        );
      }
      console.log(
        `\nbenchmark Overall ${json.overall.toFixed(3)} (untrained ${untrainedEval.summary.benchmark.overall.toFixed(3)}, copy input ${copyEval.summary.benchmark.overall.toFixed(3)}); ` +
          `5 meta-task categories ${json.meta5_overall.trained.toFixed(2)} (untrained ${json.meta5_overall.untrained.toFixed(2)}, copy ${json.meta5_overall.copy_input.toFixed(2)}); CoT parse rate ${pct(trainedEval.cotParseRate)}`,
      );
      if (rl) {
        const b = rl.comparison.benchmark;
        console.log(
          `after RL (${rl.metrics.length} steps, judge ${rl.judge}): ` +
            METRICS.map((m) => `${m} ${b[m].before.mean.toFixed(2)} -> ${b[m].after.mean.toFixed(2)} (${b[m].diff.mean >= 0 ? '+' : ''}${b[m].diff.mean.toFixed(2)} [${b[m].diff.lo.toFixed(2)}, ${b[m].diff.hi.toFixed(2)}])`).join(', '),
        );
      }
      console.log(`wrote ${paths.json} and ${paths.html} in ${seconds.toFixed(0)} s`);
    });
}
