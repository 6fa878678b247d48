// Lint with type information, for the mistakes the compiler lets through and an orchestrator
// cannot afford: a floating promise is a lost task run or a write nobody waits for.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "docs/**", "**/*.js", "**/*.mjs", "!scripts/*.mjs"] },
  {
    // Scripts that run before anything is compiled (npm test's first step) are plain JavaScript:
    // no type information, but names that do not exist or are never used are still caught.
    files: ["scripts/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly" } },
    rules: { "no-undef": "error", "no-unused-vars": "error", "prefer-const": "error" },
  },
  {
    files: ["src/**/*.ts", "bench/**/*.ts", "examples/**/*.ts", "test/**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false, attributes: false } }],
      "@typescript-eslint/await-thenable": "error",
    },
  },
  {
    files: ["ui/src/**/*.ts", "ui/src/**/*.tsx"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: "./ui/tsconfig.json", tsconfigRootDir: import.meta.dirname },
    },
    plugins: { "@typescript-eslint": tseslint.plugin },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/await-thenable": "error",
    },
  },
);
