// The order of pdsctl's command line, before a command is chosen (bin/run.js):
// - flags every command shares may come before the command words, as with kubectl and gh:
//     pdsctl --kube-namespace bluesky --kube-service bluesky account list --json
//   they are moved after the command words, before any `--` (what follows `--` is never a flag);
// - flags between the command words (`pdsctl account --json list`) are an error naming
//   the command meant, not the topic's help.
// No oclif import and no flag list of its own: the caller passes the shared flags'
// definitions (src/base/global-flags.ts, the base command's own).

/** What the order needs to know of a flag: whether it takes a value. */
export interface LeadingFlag {
  type: 'boolean' | 'option'
}

/** A command word, as bin/run.js maps words to command files. */
const WORD = /^[a-z][a-z0-9-]*$/

const isFlag = (token: string) => token.length > 1 && token.startsWith('-') && token !== '--'

/**
 * Moves the flags before the first command word to just after the command's words and
 * arguments, before any `--`. A shared flag that takes a value (`--context prod`) takes the
 * token after it with it; any other flag (a boolean, `--name=value`, one pdsctl does not
 * share) moves alone. `--help`, `-h` and `--version` there belong to the CLI: nothing moves.
 */
export function hoistLeadingFlags(argv: string[], shared: Record<string, LeadingFlag>): string[] {
  const leading: string[] = []
  let i = 0
  while (i < argv.length && isFlag(argv[i])) {
    const token = argv[i++]
    if (['--version', '--help', '-h'].includes(token)) return argv
    leading.push(token)
    if (token.startsWith('--') && shared[token.slice(2)]?.type === 'option' && i < argv.length) leading.push(argv[i++])
  }
  if (leading.length === 0 || i >= argv.length) return argv
  const rest = argv.slice(i)
  const dashdash = rest.indexOf('--')
  const at = dashdash === -1 ? rest.length : dashdash
  return [...rest.slice(0, at), ...leading, ...rest.slice(at)]
}

/**
 * `pdsctl account --json list`, `pdsctl backup --json verify DIR`: flags between the words
 * of a command, which would run the topic's help (exit 0) or the shorter command. Returns
 * the error line naming the command meant, or undefined. `isCommand` says whether words
 * name a command (at most three words, as bin/run.js reads them). A word after the flags
 * that is not a command word may be a flag's value (`account --context prod list`): the
 * scan goes on past it.
 */
export function misplacedFlagsLine(args: string[], isCommand: (words: string[]) => boolean, bin: string): string | undefined {
  let n = 0
  while (n < args.length && n < 3 && WORD.test(args[n])) n++
  if (n === 0 || n >= args.length || !isFlag(args[n])) return undefined
  for (let i = n + 1; i < args.length && args[i] !== '--'; i++) {
    if (isFlag(args[i])) continue
    if (WORD.test(args[i])) {
      const words = args.slice(0, n).concat(args[i])
      for (let j = i + 1; words.length < 3 && j < args.length && WORD.test(args[j]); j++) words.push(args[j])
      for (let k = words.length; k > n; k--) {
        if (!isCommand(words.slice(0, k))) continue
        const meant = words.slice(0, k)
        const typed = args.slice(0, i + k - n).join(' ')
        const flags = args.slice(n, i)
        const after = args.slice(i + k - n)
        const dashdash = after.indexOf('--') === -1 ? after.length : after.indexOf('--')
        const fixed = [bin, ...meant, ...after.slice(0, dashdash), ...flags, ...after.slice(dashdash)]
        return `"${typed}": flags go after the command's words. Did you mean: ${fixed.join(' ')}?`
      }
    }
    const previous = args[i - 1]
    // A value of the flag before it (`--context prod`, `-o file`): look further.
    if (!(isFlag(previous) && !previous.includes('='))) return undefined
  }
  return undefined
}
