// The figures a lab suite measures: each printed under the test that measured it, and all again at the end of
// the suite.

/** `report` prints a figure and keeps it; `print` prints the kept ones under TITLE (nothing when none, as in a skipped suite). */
export function labFigures(title: string): { report: (line: string) => void; print: () => void } {
    const figures: string[] = [];
    return {
        report: line => {
            figures.push(line);
            console.log(`      ${line}`);
        },
        print: () => {
            if (figures.length) console.log(`\n  ${title}:\n${figures.map(f => `    ${f}`).join("\n")}\n`);
        },
    };
}

/** Milliseconds as seconds with two decimals, as the figures print them. */
export const seconds = (ms: number) => (ms / 1000).toFixed(2);
