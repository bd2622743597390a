// eslint with typescript-eslint (type-aware) and both @pulumi/eslint-plugin rules, plus the layer rule.
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

// Layers, bottom up: each folder imports only from the folders before it (and packages).
// offline/, scripts/, lab/, bench/ and tests/ sit on top and may import any layer.
const LAYERS = ["core", "proxy", "components", "config", "stacks"];
const ABOVE_ALL = ["offline", "scripts", "lab", "bench", "tests"];

/** One override per layer: an import of a folder above it fails lint with the direction to follow. */
const layerRules = LAYERS.map((folder, i) => {
    const above = [...LAYERS.slice(i + 1), ...ABOVE_ALL];
    return {
        files: [`${folder}/**/*.ts`],
        rules: {
            "no-restricted-imports": ["error", {
                patterns: [{
                    regex: `^(\\.\\./)+(${above.join("|")}|index)(/|$)`,
                    message: `${folder}/ is below ${above.join(", ")} and the entry point: ` +
                        `layers run ${LAYERS.join(" <- ")} <- index, so move the shared code down instead.`,
                }],
            }],
        },
    };
});

// The policy pack is published on its own and judges the program: it imports nothing from it.
const policyRule = {
    files: ["policy/**/*.ts"],
    rules: {
        "no-restricted-imports": ["error", {
            patterns: [{ regex: "^\\.\\./", message: "policy/ is a standalone pack: it must not import the program it checks." }],
        }],
    },
};

export default tseslint.config(
    { ignores: ["node_modules/**", "bin/**"] },
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { project: "./tsconfig.json", tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    ...layerRules,
    policyRule,
);
