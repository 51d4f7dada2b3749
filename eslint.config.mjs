// `npm run lint`: ESLint with typescript-eslint's recommended rules, kept small on purpose, plus Pulumi's rule
// against an Output in a template literal (STYLE.md: strings mixing Outputs use pulumi.interpolate). That rule
// needs types, so TypeScript files are linted with the project's tsconfig (typescript-eslint's project service).
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "bin/**", ".lab/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts", "**/*.mts"],
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ["*.mts"] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      // `_`-prefixed names are the usual way to say "unused on purpose" (a callback's leading arguments).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["**/*.mjs"],
    languageOptions: { globals: globals.node },
  },
  // A disable comment for a rule that never fires is itself a finding.
  { linterOptions: { reportUnusedDisableDirectives: "error" } },
);
