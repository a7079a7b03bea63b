import { barHeight, niceMax, stack, stackedMax, ticks, type Series } from "../lib/chart";

const TONES = 5; // .tone-0 … .tone-4 in styles.css (no inline styles: the Content-Security-Policy refuses them)

/**
 * A small stacked bar chart in plain SVG: one column per category, one segment per series, an axis from 0 to a
 * round top. The figures are also in the table next to it (the chart is a picture of them: role="img").
 */
export function BarChart({ title, categories, series, format, height = 160 }: {
  title: string; categories: string[]; series: Series[]; format: (v: number) => string; height?: number;
}) {
  const top = niceMax(stackedMax(series, categories.length));
  const axis = ticks(top, top < 4 ? Math.max(1, Math.round(top)) : 4); // counts and shillings: no 0.25 on the axis
  const left = 64;
  const bottom = 22;
  // wide enough for the longest category label (11px text, about 6.5px a character)
  const column = Math.max(48, Math.ceil(Math.max(0, ...categories.map((c) => c.length)) * 6.5) + 16);
  const width = left + Math.max(1, categories.length) * column + 8;
  const stacks = stack(series, categories.length, top, height);
  const summary = categories
    .map((c, i) => `${c}: ${series.map((s) => `${series.length > 1 ? `${s.name} ` : ""}${format(s.values[i] ?? 0)}`).join(", ")}`)
    .join("; ");
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height + bottom + 8}`} width={width} height={height + bottom + 8} role="img" aria-label={`${title}. ${summary}`}
        preserveAspectRatio="xMinYMin meet">
        <g transform="translate(0 8)">
          {axis.map((v) => {
            const y = height - barHeight(v, top, height);
            return (
              <g key={v}>
                <line x1={left} x2={width} y1={y} y2={y} className="chart-grid" />
                <text x={left - 6} y={y + 4} textAnchor="end" className="chart-label">{format(v)}</text>
              </g>
            );
          })}
          {categories.map((c, i) => (
            <g key={c} transform={`translate(${left + i * column + 8} 0)`}>
              {stacks[i]!.map((seg, s) => seg.h > 0 && (
                <rect key={s} x={0} y={seg.y} width={column - 16} height={seg.h} className={`tone-${s % TONES}`}
                  data-value={series[s]!.values[i]} />
              ))}
              <text x={(column - 16) / 2} y={height + 16} textAnchor="middle" className="chart-label">{c}</text>
            </g>
          ))}
        </g>
      </svg>
      {series.length > 1 && (
        <figcaption className="chart-legend">
          {series.map((s, i) => (
            <span key={s.name}><span className={`swatch tone-${i % TONES}`} aria-hidden="true" />{s.name}</span>
          ))}
        </figcaption>
      )}
    </figure>
  );
}
