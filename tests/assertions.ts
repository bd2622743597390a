// Assertions shared by the pure tests.
import { strict as assert } from "node:assert";
import { InvalidValueError } from "../core/validate";

export const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** fn throws an InvalidValueError for `key` whose message starts with the key and matches every gist. */
export function rejects(fn: () => unknown, key: string, ...gists: RegExp[]): InvalidValueError {
    let caught: unknown;
    try {
        fn();
    } catch (err) {
        caught = err;
    }
    assert.ok(caught instanceof InvalidValueError, `expected an InvalidValueError for ${key}, got ${caught === undefined ? "no error" : String(caught)}`);
    assert.equal(caught.key, key, caught.message);
    assert.match(caught.message, new RegExp(`^${escapeRegExp(key)}: `));
    for (const gist of gists) {
        assert.match(caught.message, gist);
    }
    return caught;
}
