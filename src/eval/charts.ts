// Charts for reports: vega-lite specs compiled and rendered to static SVG in Node (no browser, no
// network when the report is opened).
import type { TopLevelSpec } from 'vega-lite';

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vega = await import('vega');
  const vl = await import('vega-lite');
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Curves over steps, one line per series: losses on a log axis by default, or any quantity (e.g. RL rewards) on a linear one. */
export function lossCurveSpec(rows: { step: number; value: number; series: string }[], title: string, axis: { title?: string; log?: boolean } = {}): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 420,
    height: 220,
    data: { values: rows },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'value', type: 'quantitative', title: axis.title ?? 'loss', scale: { type: axis.log === false ? 'linear' : 'log', zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
}

/** Grouped bars: a score per category for several systems. */
export function categoryBarsSpec(rows: { category: string; system: string; value: number }[], title: string, max = 10): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: { step: 10 },
    height: 220,
    data: { values: rows },
    mark: 'bar',
    encoding: {
      x: { field: 'category', type: 'nominal', title: null, axis: { labelAngle: -50 } },
      xOffset: { field: 'system', type: 'nominal' },
      y: { field: 'value', type: 'quantitative', title: 'Overall (0-10)', scale: { domain: [0, max] } },
      color: { field: 'system', type: 'nominal', title: null },
    },
  };
}
