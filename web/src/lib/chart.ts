// Scaling for the console's small SVG bar charts (no chart library: a few bars do not need one).

/** The smallest "round" number (1, 2 or 5 × 10^k) at or above `max`: the top of the axis. 0 or less gives 1. */
export function niceMax(max: number): number {
  if (!Number.isFinite(max) || max <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= max - 1e-9) return step * power;
  }
  return 10 * power;
}

/** `count` + 1 evenly spaced axis values from 0 to `top` (inclusive), rounded to avoid float noise. */
export function ticks(top: number, count = 4): number[] {
  if (count < 1 || top <= 0) return [0];
  return Array.from({ length: count + 1 }, (_, i) => Math.round(((top * i) / count) * 1e6) / 1e6);
}

/** The pixel height of a value on an axis 0..top drawn `height` pixels tall (negative and missing values: 0). */
export function barHeight(value: number, top: number, height: number): number {
  if (!Number.isFinite(value) || value <= 0 || top <= 0) return 0;
  return Math.min(height, (value / top) * height);
}

export interface Series {
  name: string;
  values: number[];
}

/** Stacked segments: for each category, each series' [y, height] from the bottom of the plot (SVG y grows down). */
export function stack(series: Series[], categories: number, top: number, height: number): { y: number; h: number }[][] {
  return Array.from({ length: categories }, (_, c) => {
    let base = 0;
    return series.map((s) => {
      const h = barHeight(s.values[c] ?? 0, top, height);
      base += h;
      return { y: height - Math.min(height, base), h };
    });
  });
}

/** The largest stacked total over the categories (the value the axis must reach). */
export function stackedMax(series: Series[], categories: number): number {
  let max = 0;
  for (let c = 0; c < categories; c++) {
    max = Math.max(max, series.reduce((sum, s) => sum + Math.max(0, s.values[c] ?? 0), 0));
  }
  return max;
}
