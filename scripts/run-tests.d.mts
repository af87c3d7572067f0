/** How many processes a run's files are packed into (scripts/run-tests.mjs). */
export const PROCESSES: number
/** The processes of a run, in the order the runner starts them: the files packed into at most `processes` groups of near-equal CPU (COSTS), the costliest group first, and in each group the longest file (wall) first. */
export function groupFiles(files: string[], processes?: number, weight?: (file: string) => number, wall?: (file: string) => number): string[][]
/** The source of a group's module: its files (relative to the checkout, or absolute) imported one after another. */
export function groupModule(files: string[]): string
