// The table suites (one command line crossed with every fault, lie or kill point: the fault
// reads and writes, the hostile terminal and secrets tables, the migration killed at every
// step, the bench smoke run) run every case on every Node CI runs pdsctl on. A run can take a
// part of each table instead: PDSCTL_TABLE_PART=K/N takes the table's cases i (counted from 0,
// in the order the table lists them) with i mod N = K - 1. Consecutive cases of one command
// (text and --json, one string after another) fall in different parts, so every command of a
// table meets every part. scripts/run-tests.mjs --other-nodes with PDSCTL_TABLE_PART=split (a
// developer's quicker run) gives 1/3 to the Node 24 pass, 2/3 to Node 22 and 3/3 to Node 26,
// so that each case runs once. Unset, or `all` (CI, npm test): every case.

export interface TablePart {
  /** This run's part, 1..n. */
  k: number
  n: number
}

/** PDSCTL_TABLE_PART read strictly: a mistyped value fails the run rather than skip cases. */
export function tablePartFrom(value: string | undefined): TablePart | undefined {
  if (value === undefined || value === '' || value === 'all') return undefined
  const m = /^([1-9]\d*)\/([1-9]\d*)$/.exec(value)
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`PDSCTL_TABLE_PART=${JSON.stringify(value)}: expected K/N with 1 <= K <= N (e.g. 2/3), or all (split is for scripts/run-tests.mjs --other-nodes)`)
  return { k: Number(m[1]), n: Number(m[2]) }
}

export interface TableChooser {
  /** Called once per case, in the table's order: whether this run takes the case. */
  take(): boolean
  /** For the table's summary line: '' when every case runs. */
  label: string
}

/** One table's chooser, for this run's part (PDSCTL_TABLE_PART): each table counts its own cases from 0. */
export function tableChooser(): TableChooser {
  return chooserFor(tablePartFrom(process.env.PDSCTL_TABLE_PART))
}

/** The chooser of a given part (undefined: every case). */
export function chooserFor(part: TablePart | undefined): TableChooser {
  if (!part) return { take: () => true, label: '' }
  let i = 0
  return {
    take: () => i++ % part.n === part.k - 1,
    label: ` (part ${part.k} of ${part.n}: every case i with i mod ${part.n} = ${part.k - 1})`,
  }
}
