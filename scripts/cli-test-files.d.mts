/** The CLI test files (scripts/cli-test-files.mjs), relative to the checkout, in testFiles()'s order. */
export function cliTestFiles(): string[]
/** Every test file, relative to the checkout, in path order. */
export function testFiles(): string[]
/** What each test file costs run alone, [CPU-seconds, wall seconds], by path from the checkout: scripts/run-tests.mjs packs by it. */
export const COSTS: Readonly<Record<string, readonly [number, number]>>
/** The cost of a file not in COSTS. */
export const DEFAULT_COST: readonly [number, number]
/** A file's CPU-seconds for packing: COSTS, else DEFAULT_COST. */
export function weightOf(file: string): number
/** A file's wall seconds, for the order in its process: COSTS, else DEFAULT_COST. */
export function wallOf(file: string): number
