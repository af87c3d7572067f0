/** How many processes a pass's files are packed into (scripts/run-tests.mjs). */
export const PROCESSES: number
/** How many test processes run at a time. */
export const CONCURRENCY: number
/** A file's share of a run, for packing: the longer of its wall time and its CPU at CONCURRENCY processes on 2 cores (COSTS). */
export function shareOf(file: string): number
/** The Nodes besides this one that --other-nodes runs the CLI tests with pdsctl on. */
export const OTHER_NODES: readonly string[]
/** A pass's files packed into at most `processes` groups of near-equal share (shareOf), the largest group first, and in each group the longest file (wall) first. */
export function groupFiles(files: string[], processes?: number, weight?: (file: string) => number, wall?: (file: string) => number): string[][]
/** The source of a group's module: `env` set, then its files (relative to the checkout, or absolute) imported one after another. */
export function groupModule(files: string[], env?: Record<string, string>): string
/** One pass of a run: these files with pdsctl on Node `node`, its groups setting `env`. */
export interface Pass {
  node: string
  files: string[]
  env: Record<string, string>
}
/** The passes of a run: `files` on this Node, then `cliFiles` on each of `others`, every table case on each (the cases split among them when `part` is 'split'). */
export function passesOf(opts: { files: string[]; cliFiles: string[]; here: string; others?: { version: string; bin: string }[]; part: string | undefined }): Pass[]
/** Why a run refuses PDSCTL_TABLE_PART `part` (split without other Nodes, a K/N with them), or undefined. */
export function partRefusal(part: string | undefined, otherNodes: boolean): string | undefined
/** Every pass's groups, the largest first (ties: the earlier pass first); `cost` is the group's sum of `weight` (shareOf). */
export function runGroups(passes: Pass[], processes?: number, weight?: (file: string) => number, wall?: (file: string) => number): (Pass & { cost: number })[]
/** The options of a run: --cli, --other-nodes, the files given, and what goes to `node --test`. */
export function parseArgs(args: string[]): { cli: boolean; otherNodes: boolean; given: string[]; passThrough: string[] }
