// The bench's chart: one SVG written by hand from the summary (no plotting dependency). Three panels,
// one per figure; a bar per path at its median, a whisker from the slowest to the fastest round, and
// the ratio to the routed path printed at the end of the bar. Pure: tested in tests/bench.test.ts.
import { PathSummary } from "./results";
import { Summary } from "./stats";

const COLORS: Record<string, string> = { routed: "#7f7f7f", script: "#1f77b4", haproxy: "#d62728", nginx: "#2ca02c" };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (x: number, digits: number) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface Panel { readonly title: string; readonly pick: (s: PathSummary) => Summary; readonly ratio: (s: PathSummary) => number | undefined; readonly digits: number }

const PANELS: readonly Panel[] = [
    { title: "New connections per second (sustained, Connection: close)", pick: s => s.newConn, ratio: s => s.ratio.newConn, digits: 0 },
    { title: "Keep-alive requests per second", pick: s => s.keepalive, ratio: s => s.ratio.keepalive, digits: 0 },
    { title: "Bulk throughput, Gbit/s (iperf3)", pick: s => s.bulk, ratio: s => s.ratio.bulk, digits: 1 },
];

export function renderChart(summary: readonly PathSummary[], caption: string): string {
    const width = 960;
    const labelW = 90;
    const barMax = 640;
    const barH = 22;
    const gap = 8;
    const panelH = 40 + summary.length * (barH + gap);
    const height = 50 + PANELS.length * panelH + 40;
    const out: string[] = [
        `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="13">`,
        `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
        `<text x="16" y="28" font-size="17" font-weight="bold">Data paths side by side: median of the rounds, whisker = slowest to fastest round</text>`,
    ];
    PANELS.forEach((panel, pi) => {
        const top = 50 + pi * panelH;
        const max = Math.max(...summary.map(s => panel.pick(s).max), 1e-9);
        const x = (v: number) => labelW + (v / max) * barMax;
        out.push(`<text x="16" y="${top + 18}" font-weight="bold">${esc(panel.title)}</text>`);
        summary.forEach((s, i) => {
            const f = panel.pick(s);
            const y = top + 30 + i * (barH + gap);
            const ratio = panel.ratio(s);
            const label = `${fmt(f.median, panel.digits)}${ratio === undefined || s.path === "routed" ? "" : `  (${ratio.toFixed(2)}x routed)`}`;
            out.push(
                `<text x="${labelW - 8}" y="${y + barH / 2 + 4}" text-anchor="end">${esc(s.path)}</text>`,
                `<rect x="${labelW}" y="${y}" width="${(x(f.median) - labelW).toFixed(1)}" height="${barH}" fill="${COLORS[s.path] ?? "#999999"}"/>`,
                `<line x1="${x(f.min).toFixed(1)}" x2="${x(f.max).toFixed(1)}" y1="${y + barH / 2}" y2="${y + barH / 2}" stroke="#000000" stroke-width="1.5"/>`,
                `<line x1="${x(f.min).toFixed(1)}" x2="${x(f.min).toFixed(1)}" y1="${y + 5}" y2="${y + barH - 5}" stroke="#000000" stroke-width="1.5"/>`,
                `<line x1="${x(f.max).toFixed(1)}" x2="${x(f.max).toFixed(1)}" y1="${y + 5}" y2="${y + barH - 5}" stroke="#000000" stroke-width="1.5"/>`,
                `<text x="${(x(f.max) + 8).toFixed(1)}" y="${y + barH / 2 + 4}">${esc(label)}</text>`,
            );
        });
    });
    out.push(`<text x="16" y="${height - 16}" font-size="11" fill="#444444">${esc(caption)}</text>`, "</svg>", "");
    return out.join("\n");
}
