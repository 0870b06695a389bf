// `train sft` configuration: the documented defaults (DESIGN.md sections 3 and 5), strict fields, and
// errors that name the field and the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { parseSftConfig, readSftConfig } from '../../src/train/config.js';

const dir = mkdtempSync(join(tmpdir(), 'metacot-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SFT config', () => {
  it('defaults: CFG dropout 0.1 / 0.3 / 0.3, w_ce = w_mse = 1, no timestep shift, AdamW (0.9, 0.95), cosine with warmup', () => {
    expect(parseSftConfig({})).toEqual({
      out: 'runs/sft',
      preset: 'tiny',
      model: {},
      seed: 1,
      device: 'cpu',
      data: { variant: 'meta', categories: 'full', understandingRatio: 0.15, tokenBudget: 1280, dropText: 0.1, dropVae: 0.3, dropVit: 0.3, evalFraction: 0.1 },
      steps: 1000,
      minutes: 0,
      gradAccum: 1,
      lr: 1e-3,
      minLr: 1e-4,
      warmupSteps: 50,
      schedule: 'cosine',
      wCe: 1,
      wMse: 1,
      timestepShift: 1,
      beta1: 0.9,
      beta2: 0.95,
      weightDecay: 0,
      maxGradNorm: 1,
      emaDecay: 0,
      checkpointEvery: 200,
      logEvery: 1,
    });
  });

  it('keeps what is given, including nested data fields', () => {
    const c = parseSftConfig({ steps: 7, gradAccum: 4, schedule: 'constant', data: { variant: 'triplet', dropVae: 0 }, model: { hidden: 64, tieEmbeddings: false } });
    expect([c.steps, c.gradAccum, c.schedule]).toEqual([7, 4, 'constant']);
    expect(c.data).toMatchObject({ variant: 'triplet', dropVae: 0, dropText: 0.1 });
    expect(c.model).toEqual({ hidden: 64, tieEmbeddings: false });
  });

  it('rejects bad and unknown fields, naming the field and the source', () => {
    expect(() => parseSftConfig({ steps: 0 }, 'train sft')).toThrow(/^train sft: field 'steps': /);
    expect(() => parseSftConfig({ gradAccum: 1.5 })).toThrow(/^config: field 'gradAccum': /);
    expect(() => parseSftConfig({ data: { dropText: 2 } })).toThrow(/^config: field 'data.dropText': /);
    expect(() => parseSftConfig({ data: { bogus: 1 } })).toThrow(/^config: field 'data': .*bogus/);
    expect(() => parseSftConfig({ preset: 'huge' })).toThrow(/^config: field 'preset': /);
    expect(() => parseSftConfig({ lr: 0 })).toThrow(/field 'lr'/);
    expect(() => parseSftConfig({ emaDecay: 1 })).toThrow(/field 'emaDecay'/);
    expect(() => parseSftConfig({ typo: 1 })).toThrow(/^config: field '\(root\)': .*typo/);
    expect(() => parseSftConfig(null)).toThrow(/^config: field '\(root\)'/);
  });

  it('reads a JSON file; an unreadable or invalid file says which and why', () => {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ steps: 12, data: { categories: '5meta' } }));
    const c = readSftConfig(good);
    expect([c.steps, c.data.categories]).toEqual([12, '5meta']);
    expect(() => readSftConfig(join(dir, 'missing.json'))).toThrow(new RegExp(`^--config: cannot read '${join(dir, 'missing.json')}': .*ENOENT`));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ steps: ');
    expect(() => readSftConfig(bad)).toThrow(new RegExp(`^--config: '${bad}' is not valid JSON: `));
    const wrong = join(dir, 'wrong.json');
    writeFileSync(wrong, JSON.stringify({ steps: -1 }));
    expect(() => readSftConfig(wrong)).toThrow(new RegExp(`^--config ${wrong}: field 'steps': `));
  });
});
