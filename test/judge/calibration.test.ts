// Calibration records and the gate the RL trainer applies (Pearson r >= 0.8 and MAE <= 2.5), the
// labels CSV, and judges from their command-line names.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { GATE, calibrationRecord, passes, readRecord, recordPath, requireCalibrated, scatterSpec, writeRecord } from '../../src/judge/calibration.js';
import { WeightedJudge } from '../../src/judge/compose.js';
import { labelsCsv, parseLabels } from '../../src/judge/labels.js';
import { makeJudge, parseJudgeSpec } from '../../src/judge/make.js';
import { SceneJudge } from '../../src/judge/scene.js';
import type { JudgeIdentity, Verdict } from '../../src/judge/types.js';
import { VlmJudge } from '../../src/judge/vlm.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'metacot-cal-'));
const judge: JudgeIdentity = { kind: 'vlm-cec', model: 'qwen/vl 7b', version: 'p1' };
const ok = (id: string, overall: number): Verdict => ({ id, ok: true, overall, reasons: [] });

describe('calibration record', () => {
  it('pairs verdicts with labels by id, leaves failures out and counts them', () => {
    const labels = new Map([['a', 1], ['b', 2], ['c', 3], ['d', 4], ['e', 5], ['f', 9]]);
    const vs = [ok('a', 2), ok('b', 4), ok('c', 5), ok('d', 4), ok('e', 5), { id: 'f', ok: false, reasons: ['x'], failure: { kind: 'timeout' as const, message: 'x' } }];
    const { record, pairs } = calibrationRecord(judge, vs, labels, 'labels.csv', new Date('2026-01-02T03:04:05Z'));
    expect(pairs.map((p) => [p.id, p.label, p.score])).toEqual([['a', 1, 2], ['b', 2, 4], ['c', 3, 5], ['d', 4, 4], ['e', 5, 5]]);
    expect(record).toMatchObject({ format: 'metacot-calibration-v1', name: 'vlm-cec@qwen_vl_7b@p1', n: 5, failures: 1, mae: 1, passed: false, labels: 'labels.csv', date: '2026-01-02T03:04:05.000Z' });
    expect(record.pearson).toBeCloseTo(6 / Math.sqrt(60), 12);
    expect(record.spearman).toBeCloseTo(7 / Math.sqrt(90), 12);
    expect(() => calibrationRecord(judge, [ok('zz', 1)], labels, 'l')).toThrow(/verdict 'zz' has no label/);
    expect(() => calibrationRecord(judge, [ok('a', 1)], labels, 'l')).toThrow(/1 labelled item\(s\) were scored \(0 failed\); at least 2/);
  });

  it('the gate: r >= 0.8 and MAE <= 2.5, both ends included', () => {
    expect(GATE).toEqual({ minPearson: 0.8, maxMae: 2.5 });
    expect(passes({ pearson: 0.8, mae: 2.5 })).toBe(true);
    expect(passes({ pearson: 0.7999, mae: 0.1 })).toBe(false);
    expect(passes({ pearson: 0.99, mae: 2.5001 })).toBe(false);
    expect(passes({ pearson: Number.NaN, mae: 0 })).toBe(false);
  });

  it('refuses a judge without a record, naming the record it wanted; lets it through when overridden', () => {
    const dir = tmp();
    const want = recordPath(dir, judge);
    expect(want).toBe(join(dir, 'vlm-cec@qwen_vl_7b@p1.json'));
    let msg = '';
    try {
      requireCalibrated(judge, dir);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toContain(`there is no calibration record ${want}`);
    expect(msg).toMatch(/Pearson r >= 0.8 and MAE <= 2.5/);
    expect(msg).toMatch(/--allow-uncalibrated/);
    expect(requireCalibrated(judge, dir, { allowUncalibrated: true })).toEqual({ record: null, overridden: true });
  });

  it('refuses a judge whose record fails, accepts one whose record passes; a new prompt version needs its own', async () => {
    const dir = tmp();
    const labels = new Map([['a', 1], ['b', 5], ['c', 9]]);
    const bad = calibrationRecord(judge, [ok('a', 9), ok('b', 5), ok('c', 1)], labels, 'l').record;
    await writeRecord(dir, bad);
    expect(() => requireCalibrated(judge, dir)).toThrow(/does not pass \(r -1\.000, MAE 5\.333 on 3 items\)/);
    expect(requireCalibrated(judge, dir, { allowUncalibrated: true })).toMatchObject({ overridden: true, record: { passed: false } });
    const good = calibrationRecord(judge, [ok('a', 1.5), ok('b', 5), ok('c', 8)], labels, 'l').record;
    const file = await writeRecord(dir, good);
    expect(requireCalibrated(judge, dir)).toMatchObject({ overridden: false, record: { passed: true, n: 3 } });
    expect(readRecord(dir, judge)).toEqual(JSON.parse(readFileSync(file, 'utf8')));
    expect(() => requireCalibrated({ ...judge, version: 'p2' }, dir)).toThrow(/no calibration record .*vlm-cec@qwen_vl_7b@p2\.json/);
    writeFileSync(recordPath(dir, { kind: 'gt', version: 'x' }), JSON.stringify({ ...good, name: 'someone-else' }));
    expect(() => readRecord(dir, { kind: 'gt', version: 'x' })).toThrow(/expected format metacot-calibration-v1 for judge gt@x/);
  });

  it('two scored items are enough for a record', () => {
    const labels = new Map([['a', 2], ['b', 8]]);
    const { record, pairs } = calibrationRecord(judge, [ok('a', 3), ok('b', 7)], labels, 'l');
    expect(record.n).toBe(2);
    expect(pairs).toHaveLength(2);
  });

  it('refuses a record of another format even when its name matches', async () => {
    const dir = tmp();
    const labels = new Map([['a', 1], ['b', 5], ['c', 9]]);
    const good = calibrationRecord(judge, [ok('a', 1.5), ok('b', 5), ok('c', 8)], labels, 'l').record;
    writeFileSync(recordPath(dir, judge), JSON.stringify({ ...good, format: 'metacot-calibration-v0' }));
    expect(() => readRecord(dir, judge)).toThrow(/expected format metacot-calibration-v1 for judge vlm-cec@qwen_vl_7b@p1, received .*metacot-calibration-v0/);
  });

  it('the scatter plots one point per pair, label on x and judge score on y', () => {
    const pairs = [{ id: 'a', label: 1, score: 2 }, { id: 'b', label: 6, score: 5.5 }];
    const spec = scatterSpec(pairs, 't') as unknown as { layer: { data: { values: unknown[] }; encoding: { x: { field: string }; y: { field: string } } }[] };
    expect(spec.layer).toHaveLength(2);
    const points = spec.layer[1];
    expect(points.data.values).toEqual(pairs);
    expect(points.encoding.x.field).toBe('label');
    expect(points.encoding.y.field).toBe('score');
  });
});

describe('labels CSV', () => {
  const header = 'id,source,edited,instruction,cot,label\n';
  it('reads rows (quoted commas and newlines included) and writes them back', () => {
    const rows = parseLabels(`${header}a,s.png,e.png,"make it red, please","<summary> x\n y",7.5\nb,s2.png,e2.png,do it,,0\n`);
    expect(rows).toEqual([
      { id: 'a', source: 's.png', edited: 'e.png', instruction: 'make it red, please', cot: '<summary> x\n y', label: 7.5 },
      { id: 'b', source: 's2.png', edited: 'e2.png', instruction: 'do it', cot: '', label: 0 },
    ]);
    expect(parseLabels(labelsCsv(rows))).toEqual(rows);
  });

  it('names the line and column of a bad row', () => {
    expect(() => parseLabels('', 'f.csv')).toThrow(/f\.csv: expected a header .* and at least one row/);
    expect(() => parseLabels('id,source,edited\na,b,c\n', 'f.csv')).toThrow(/f\.csv: expected the columns .*; missing instruction, cot, label/);
    expect(() => parseLabels(`${header}a,s,e,i,c,11\n`, 'f.csv')).toThrow(/f\.csv line 2: column 'label' expected a number from 0 to 10, received "11"/);
    expect(() => parseLabels(`${header}a,s,e,i,c,\n`, 'f.csv')).toThrow(/line 2: column 'label' expected a number from 0 to 10, received ""/);
    expect(() => parseLabels(`${header}a,s,e,i,c,x\n`, 'f.csv')).toThrow(/received "x"/);
    expect(() => parseLabels(`${header}a,s,e,i,c,1\nb,s,,i,c,1\n`, 'f.csv')).toThrow(/f\.csv line 3: column 'edited' expected a value/);
    expect(() => parseLabels(`${header}a,s,e,i,c,1\na,s,e,i,c,2\n`, 'f.csv')).toThrow(/line 3: column 'id' expected a unique id, received 'a' a second time/);
    expect(() => parseLabels(`${header}a,"s,e,i,c,1\n`, 'f.csv')).toThrow(/f\.csv: not a readable CSV/);
  });

  it('a required field of only whitespace is empty; a label of only whitespace or below 0 is not a label', () => {
    expect(() => parseLabels(`${header}a, ,e,i,c,1\n`, 'f.csv')).toThrow(/f\.csv line 2: column 'source' expected a value, received an empty one/);
    expect(() => parseLabels(`${header}a,s,e,i,c,  \n`, 'f.csv')).toThrow(/f\.csv line 2: column 'label' expected a number from 0 to 10, received "  "/);
    expect(() => parseLabels(`${header}a,s,e,i,c,-1\n`, 'f.csv')).toThrow(/f\.csv line 2: column 'label' expected a number from 0 to 10, received "-1"/);
  });

  it('writes labels to 4 decimals', () => {
    const csv = labelsCsv([{ id: 'a', source: 's', edited: 'e', instruction: 'i', cot: 'c', label: 1 / 3 }]);
    expect(csv).toBe('id,source,edited,instruction,cot,label\na,s,e,i,c,0.3333\n');
  });
});

describe('judges by name', () => {
  it('parses names and weights', () => {
    expect(parseJudgeSpec('cec')).toEqual([['cec', 1]]);
    expect(parseJudgeSpec(' cec:0.7, vlm-cec:0.3 ')).toEqual([['cec', 0.7], ['vlm-cec', 0.3]]);
    expect(() => parseJudgeSpec('')).toThrow(/--judge: expected gt \| cec \| vlm \| vlm-cec or a weighted sum/);
    expect(() => parseJudgeSpec('clip')).toThrow(/--judge: 'clip' is not a judge/);
    expect(() => parseJudgeSpec('cec:1:2')).toThrow(/'cec:1:2' is not a judge/);
    expect(() => parseJudgeSpec('cec:0')).toThrow(/the weight of 'cec' expected a number > 0, received "0"/);
    expect(() => parseJudgeSpec('cec:x')).toThrow(/received "x"/);
  });

  it('builds scene judges, VLM judges sharing one client, and weighted sums', () => {
    expect(makeJudge('gt')).toBeInstanceOf(SceneJudge);
    expect((makeJudge('cec') as SceneJudge).kind).toBe('cec');
    expect(() => makeJudge('vlm')).toThrow(/--judge vlm: a VLM judge needs --endpoint URL and --model NAME/);
    const ep = { endpoint: { endpoint: 'http://127.0.0.1:1/v1', model: 'm' } };
    const v = makeJudge('vlm', ep) as VlmJudge;
    expect(v.identity).toMatchObject({ kind: 'vlm-viescore', model: 'm' });
    expect((makeJudge('vlm-cec', ep) as VlmJudge).identity.kind).toBe('vlm-cec');
    const sum = makeJudge('cec:0.7,vlm-cec:0.3,vlm', ep) as WeightedJudge;
    expect(sum).toBeInstanceOf(WeightedJudge);
    expect(sum.parts.map((p) => [p.judge.identity.kind, p.weight])).toEqual([['cec', 0.7], ['vlm-cec', 0.3], ['vlm-viescore', 1]]);
    expect((sum.parts[1].judge as VlmJudge).client).toBe((sum.parts[2].judge as VlmJudge).client);
    expect(makeJudge('gt:2')).toBeInstanceOf(WeightedJudge);
  });

  it('a sum of parts that all weigh 1 is still a sum', () => {
    const sum = makeJudge('gt,cec') as WeightedJudge;
    expect(sum).toBeInstanceOf(WeightedJudge);
    expect(sum.parts.map((p) => [p.judge.identity.kind, p.weight])).toEqual([['gt', 1], ['cec', 1]]);
  });
});
