/** The CLI test files (scripts/cli-test-files.mjs), relative to the checkout. */
export function cliTestFiles(): string[]
