// The order of measurements: ABBA interleaving, so that a drift during the run (other load on the
// machine, state a path leaves behind such as TIME_WAIT) does not favour the paths measured first.

/** Rounds of the paths, every other round reversed: A B C D, D C B A, A B C D, ... */
export function abbaSchedule<T>(paths: readonly T[], rounds: number): Array<{ round: number; path: T }> {
    if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`rounds must be a positive integer, got ${rounds}`);
    const out: Array<{ round: number; path: T }> = [];
    for (let round = 0; round < rounds; round++) {
        for (const path of round % 2 ? [...paths].reverse() : paths) out.push({ round, path });
    }
    return out;
}
