/** Files of a light group (scripts/run-tests.mjs). */
export const GROUP_SIZE: number
/** The processes of a run, in the order the runner starts them: each HEAVIEST file alone, then the others in order, at most GROUP_SIZE to a group, the groups of near-equal sizes. */
export function groupFiles(files: string[], size?: number): string[][]
/** The source of a group's module: its files (relative to the checkout, or absolute) imported one after another. */
export function groupModule(files: string[]): string
