/** The CLI test files (scripts/cli-test-files.mjs), relative to the checkout, in testFiles()'s order. */
export function cliTestFiles(): string[]
/** Every test file, relative to the checkout, in path order. */
export function testFiles(): string[]
/** What each test file costs run alone, in CPU-seconds, by path from the checkout: scripts/run-tests.mjs packs by it. */
export const WEIGHTS: Readonly<Record<string, number>>
/** The cost of a file not in WEIGHTS. */
export const DEFAULT_WEIGHT: number
/** A file's cost for packing: WEIGHTS, else DEFAULT_WEIGHT. */
export function weightOf(file: string): number
