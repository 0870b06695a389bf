// `metacot train rl` in-process on a micro checkpoint: the calibration gate refuses an uncalibrated
// judge, --allow-uncalibrated lets it through and says so in every metrics line, a calibrated judge
// runs, and --resume with nothing to resume is refused.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from './run-cli.js';

import { buildWorldTokenizer } from '../../src/data/vocab.js';
import { calibrationRecord, writeRecord } from '../../src/judge/calibration.js';
import { SceneJudge } from '../../src/judge/scene.js';
import { identityName } from '../../src/judge/types.js';
import { loadCheckpoint, modelFromCheckpoint, saveCheckpoint } from '../../src/model/checkpoint.js';
import { parseModelConfig } from '../../src/model/config.js';
import { MotModel } from '../../src/model/model.js';
import { parseRlConfig } from '../../src/train/rl-config.js';
import { gatedJudge, rlOnWorld } from '../../src/train/rl-run.js';

let dir: string;
let ck: string;
let config: string;

const run = (...args: string[]) => runCli('train', 'rl', ...args);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'metacot-cli-rl-'));
  const tok = buildWorldTokenizer();
  const cfg = parseModelConfig({
    vocab: Math.ceil(tok.size / 64) * 64, hidden: 32, layers: 1, heads: 2, kvHeads: 1, headDim: 16, mlp: 48, ropeTheta: 10000,
    latentChannels: 48, latentPatch: 4, vitPatchDim: 48, vitPatch: 4, maxLatentSide: 8, imageSize: 32, timestepDim: 16, tieEmbeddings: true,
  });
  using model = MotModel.create(cfg, { seed: 3 });
  ck = join(dir, 'sft.safetensors');
  saveCheckpoint(ck, model, { step: 0, tokenizer: tok.toJSON() });
  config = join(dir, 'rl.json');
  writeFileSync(config, JSON.stringify({ prompts: 1, groupSize: 2, rolloutSteps: 4, sde: { size: 1, within: 2 }, maxCotTokens: 6, categories: 'color_alter' }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('metacot train rl', () => {
  it('refuses an uncalibrated judge, naming the record it wanted; --allow-uncalibrated runs and logs it', async () => {
    const records = join(dir, 'records-empty');
    await expect(run('--checkpoint', ck, '--judge', 'cec', '--records', records, '--config', config, '--out', join(dir, 'a'), '--steps', '1')).rejects.toThrow(
      /judge cec@score-v1 is not calibrated: there is no calibration record .*cec@score-v1\.json.*--allow-uncalibrated/,
    );
    const r = await run('--checkpoint', ck, '--judge', 'cec', '--records', records, '--allow-uncalibrated', '--config', config, '--out', join(dir, 'a'), '--steps', '1');
    expect(r.out).toMatch(/judge cec@score-v1 \(UNCALIBRATED: let through by --allow-uncalibrated\)/);
    expect(r.out).toMatch(/finished 1 RL steps/);
    const lines = readFileSync(join(dir, 'a', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ step: 1, judgeCalibrated: false });
  });

  it('runs with a calibrated judge; --resume with no checkpoint in --out is refused', async () => {
    const records = join(dir, 'records');
    const judge = new SceneJudge('gt');
    const labels = new Map([['a', 1], ['b', 5], ['c', 9]]);
    const { record } = calibrationRecord(judge.identity, [...labels].map(([id, v]) => ({ id, ok: true, overall: v, reasons: [] })), labels, 'labels.csv');
    await writeRecord(records, record);
    const r = await run('--checkpoint', ck, '--judge', 'gt', '--records', records, '--config', config, '--out', join(dir, 'b'), '--steps', '2', '--group-size', '3');
    expect(r.out).toMatch(/3 rollouts a step/);
    expect(r.out).not.toMatch(/UNCALIBRATED/);
    expect(r.out).toMatch(/finished 2 RL steps/);
    expect(r.out).toMatch(/last step: reward \d+\.\d+ \+- \d+\.\d+, zero-std groups \d+%/);
    const lines = readFileSync(join(dir, 'b', 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.step, l.judgeCalibrated])).toEqual([[1, true], [2, true]]);
    await expect(run('--checkpoint', ck, '--judge', 'gt', '--records', records, '--config', config, '--out', join(dir, 'c'), '--resume')).rejects.toThrow(/--resume: there is no checkpoint to resume from/);
    await expect(run('--checkpoint', join(dir, 'none.safetensors'), '--judge', 'gt', '--records', records, '--out', join(dir, 'd'))).rejects.toThrow(/--checkpoint: no such file/);
  });
});

describe('rlOnWorld', () => {
  const base = { prompts: 1, groupSize: 2, rolloutSteps: 4, sde: { size: 1, within: 2 }, maxCotTokens: 4, categories: 'color_alter' };
  const gate = () => gatedJudge('gt', join(dir, 'records-none'), { allowUncalibrated: true });

  it('logs the checkpoint sha and the judge, needs no log callback, builds the reference when beta > 0', async () => {
    const lines: string[] = [];
    const sha = createHash('sha256').update(readFileSync(ck)).digest('hex').slice(0, 16);
    const calibrated = { ...gate(), calibrated: true };
    const o = await rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w1'), steps: 1 }), ck, calibrated, { quiet: true, log: (l) => lines.push(l) });
    o.model.dispose();
    expect(lines).toEqual([`RL from ${ck} (sha256 ${sha}): 1 prompts x 2 rollouts a step, 4 steps with SDE on 1 of the first 2; judge ${identityName(calibrated.judge.identity)}`]);
    expect(o.result.stopped).toBe('done');
    const b = await rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w2'), steps: 1, beta: 0.2 }), ck, gate(), { quiet: true });
    b.model.dispose();
    expect(b.result).toMatchObject({ stopped: 'done', steps: 1 });
    expect(b.result.metrics[0].judgeCalibrated).toBe(false);
  });

  it('a time budget (minutes) stops the run after the step that passes it; none: runs to the step budget', async () => {
    const t = await rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w3'), steps: 3, minutes: 1e-9 }), ck, gate(), { quiet: true });
    t.model.dispose();
    expect(t.result).toMatchObject({ stopped: 'interrupted', steps: 1 });
    const n = await rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w4'), steps: 2, minutes: 0 }), ck, gate(), { quiet: true });
    n.model.dispose();
    expect(n.result).toMatchObject({ stopped: 'done', steps: 2 });
    // the judge and the starting checkpoint are part of the resumable state: another judge is refused
    const other = { ...gatedJudge('cec', join(dir, 'records-none'), { allowUncalibrated: true }) };
    await expect(rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w4'), steps: 3 }), ck, other, { quiet: true, resume: true })).rejects.toThrow(/--resume: checkpoint .* was written by a run with judge = /);
    const more = await rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w4'), steps: 3 }), ck, gate(), { quiet: true, resume: true });
    more.model.dispose();
    expect(more.result.metrics.map((m) => m.step)).toEqual([3]);
  });

  it('a time budget not yet spent does not stop the run; resuming from another starting checkpoint is refused', async () => {
    const n = await rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w6'), steps: 2, minutes: 60 }), ck, gate(), { quiet: true });
    n.model.dispose();
    expect(n.result).toMatchObject({ stopped: 'done', steps: 2 });
    // the same architecture, other weights: another sha
    const other = join(dir, 'other.safetensors');
    const c = loadCheckpoint(ck);
    using m = modelFromCheckpoint(c, { grads: false });
    m.params[0].upload(m.params[0].download().map((v) => v + 0.01));
    saveCheckpoint(other, m, { step: 0, tokenizer: c.tokenizer });
    await expect(rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w6'), steps: 3 }), other, gate(), { quiet: true, resume: true })).rejects.toThrow(/--resume: checkpoint .* was written by a run with from\.sha = /);
  });

  it('refuses a checkpoint without a tokenizer', async () => {
    const bare = join(dir, 'bare.safetensors');
    const c = loadCheckpoint(ck);
    using m = modelFromCheckpoint(c, { grads: false });
    saveCheckpoint(bare, m, { step: 0 });
    await expect(rlOnWorld(parseRlConfig({ ...base, out: join(dir, 'w5'), steps: 1 }), bare, gate(), { quiet: true })).rejects.toThrow(`--checkpoint: '${bare}' holds no tokenizer`);
  });
});
