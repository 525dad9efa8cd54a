// ESLint flat config: typescript-eslint's recommended rules for every TypeScript file, plus
// @pulumi/eslint-plugin's rules against Outputs in template literals (which render as
// "Calling [toString] on an [Output<T>] is not supported"; use pulumi.interpolate or apply).
// The Pulumi rules need type information: the project service finds each file's tsconfig.json
// (the root one, or policy/tsconfig.json for the policy pack).
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    {
        ignores: ["**/node_modules/**", "dist/**", "policy/bin/**", "app/**", "images/**", ".test-tmp/**"],
    },
    {
        files: ["**/*.ts"],
        extends: [tseslint.configs.recommended],
        languageOptions: {
            parserOptions: {
                projectService: true,
                tsconfigRootDir: import.meta.dirname,
            },
        },
        plugins: { "@pulumi": pulumi },
        linterOptions: { reportUnusedDisableDirectives: "error" },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // tsc already enforces this (noUnusedLocals/noUnusedParameters); allow `_name` for
            // deliberately ignored values, as destructuring and callbacks need.
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
        },
    },
    {
        // Tests read the inputs Pulumi's mocks record, which are untyped (Record<string, any>), and
        // assert with chai's property chains (`expect(x).to.be.an("array").that.is.not.empty`),
        // which no-unused-expressions mistakes for dead code. Both are deliberate there.
        files: ["tests/**/*.ts"],
        rules: {
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unused-expressions": "off",
        },
    },
);
