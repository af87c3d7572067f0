/** The CLI test files (scripts/cli-test-files.mjs), relative to the checkout, in testFiles()'s order. */
export function cliTestFiles(): string[]
/** Every test file, relative to the checkout: HEAVIEST first, then in path order. */
export function testFiles(): string[]
/** The longest test files, longest first: the runner starts them first. */
export const HEAVIEST: string[]
