// Lets connection flags come before the command, as with kubectl and gh:
//   pdsctl --kube-namespace bluesky --kube-service bluesky account list --json
// oclif wants the command first, so leading flags are moved to the end of argv.
// No oclif import: bin/run.js loads this before oclif.

/** Global flags that take a value (the PdsCommand base flags). */
const VALUE_FLAGS = new Set([
  '--url', '--env-file', '--timeout', '--context',
  '--kube-namespace', '--kube-service', '--kube-pod', '--kube-port', '--kube-context', '--kube-secret', '--kube-timeout', '--kubectl',
])

export function hoistLeadingFlags(argv: string[]): string[] {
  const leading: string[] = []
  let i = 0
  while (i < argv.length && argv[i].startsWith('-') && argv[i] !== '--') {
    const token = argv[i]
    // --version / --help on their own belong to the CLI, not to a command.
    if (['--version', '-v', '--help', '-h'].includes(token)) return argv
    leading.push(token)
    if (VALUE_FLAGS.has(token) && i + 1 < argv.length) leading.push(argv[++i])
    i++
  }
  if (leading.length === 0 || i >= argv.length) return argv
  return [...argv.slice(i), ...leading]
}
