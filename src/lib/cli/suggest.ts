// Did-you-mean for mistyped commands and flags: the nearest known name by edit distance,
// offered only when it is near enough to be what was meant.

/** Edit distance (insert, delete, substitute, swap two neighbours). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0][j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1)
    }
  }
  return d[a.length][b.length]
}

/** The closest of `candidates` to `word`, if it is close enough to be what was meant. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const dist = editDistance(word, c)
    if (dist < bestD) [best, bestD] = [c, dist]
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined
}

/**
 * What a mistyped command line probably meant: `acount list x` → `account list x`. Each
 * known command (and topic) is compared with as many leading words of the input as it has.
 */
export function suggestCommand(words: string[], ids: string[][]): string[] | undefined {
  let best: string[] | undefined
  let bestD = Infinity
  for (const id of ids) {
    if (id.length > words.length) continue
    const dist = editDistance(words.slice(0, id.length).join(' '), id.join(' '))
    // An exact topic (`invite` of `invite lsit`) is not a suggestion: the rest was mistyped.
    if (dist === 0) continue
    // Prefer the longer match on a tie (`account list` over `account`).
    if (dist < bestD || (dist === bestD && best && id.length > best.length)) [best, bestD] = [id, dist]
  }
  if (!best || bestD > Math.max(2, Math.floor(best.join(' ').length / 4))) return undefined
  return [...best, ...words.slice(best.length)]
}

