// A suite that cannot run says why in every pending test's title, not only in a line printed before it.

/** Marks every test of the hook's suite (and its nested suites) pending with the reason in its title. */
export function skipSuite(hook: Mocha.Context, reason: string): never {
    const mark = (suite: Mocha.Suite | undefined): void => {
        if (!suite) return;
        for (const test of suite.tests) test.title += ` (pending: ${reason})`;
        suite.suites.forEach(mark);
    };
    mark(hook.test?.parent);
    hook.skip();
}
