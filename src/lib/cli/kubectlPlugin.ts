// `kubectl pds …`: pdsctl as a kubectl plugin (the package's kubectl-pds executable,
// bin/kubectl-pds.js). kubectl finds `kubectl-pds` on PATH and runs it with every word
// after `pds`, its own flags included (a plugin gets them unparsed), so this module turns
// a kubectl command line into pdsctl's:
//   kubectl pds status -n bluesky --context home   →  pdsctl k8s status --kube-namespace bluesky --kube-context home --kube
//   kubectl pds account list --kubeconfig ~/k.yaml →  pdsctl account list --kube   (with KUBECONFIG=~/k.yaml)
// `status`, `upgrade`, `forward` and `manifests` are pdsctl's `k8s …`; every other command
// keeps its words. `--kube` makes pdsctl find what kubectl's user did not name: the PDS's
// Service and the Secret its Deployment reads the admin password from (src/lib/k8s/discover.ts).
// No oclif here: the plan is made before bin/run.js's own run path takes over.
import path from 'node:path'

/** pdsctl's `k8s …` commands, named in kubectl's way (`kubectl pds status`). */
export const KUBE_VERBS = ['status', 'upgrade', 'forward', 'manifests'] as const

/** kubectl's flags that kubectl pds maps: kubectl's name → what it becomes. */
const VALUE_FLAGS: Record<string, 'namespace' | 'context' | 'kubeconfig'> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--context': 'context',
  '--kubeconfig': 'kubeconfig',
}

/** kubectl's other global flags: refused with what to use instead (kubectl pds passes nothing on to kubectl but these three). */
const UNSUPPORTED = new Set([
  '-s', '--server', '--cluster', '--user', '--token', '--as', '--as-group', '--as-uid', '--username', '--password',
  '--certificate-authority', '--client-certificate', '--client-key', '--insecure-skip-tls-verify', '--tls-server-name',
  '--request-timeout', '--cache-dir', '--match-server-version', '--disable-compression', '--warnings-as-errors',
])

export type PluginPlan =
  | {
      kind: 'run'
      /** pdsctl's argv. */
      argv: string[]
      /** KUBECONFIG, from --kubeconfig (an absolute path), for every kubectl pdsctl starts. */
      kubeconfig?: string
    }
  /** kubectl pds [COMMAND] --help, kubectl pds help [COMMAND], kubectl pds (alone), kubectl pds options. */
  | { kind: 'help'; words: string[]; options?: boolean }
  | { kind: 'not-found'; words: string[] }
  | { kind: 'error'; message: string }

/** The flags a command takes (its own and its base's), or undefined when no command has these words. */
export type CommandLookup = (words: string[]) => Promise<{ id: string; flags: Set<string>; consumed: number } | undefined>

const WORD = /^[a-z][a-z0-9-]*$/

/** kubectl's way of giving a value: `-n X`, `-nX`, `-n=X`, `--namespace X`, `--namespace=X`. */
function takeValueFlag(args: string[], i: number): { name: string; value: string | undefined; next: number } | undefined {
  const a = args[i]
  for (const flag of Object.keys(VALUE_FLAGS)) {
    if (a === flag) return { name: flag, value: args[i + 1], next: i + 2 }
    if (a.startsWith(`${flag}=`)) return { name: flag, value: a.slice(flag.length + 1), next: i + 1 }
    if (flag === '-n' && a.startsWith('-n') && !a.startsWith('--') && a.length > 2) return { name: flag, value: a.slice(2), next: i + 1 }
  }
  return undefined
}

export async function planPluginRun(argv: string[], lookup: CommandLookup, cwd = process.cwd()): Promise<PluginPlan> {
  const dashdash = argv.indexOf('--')
  const args = dashdash === -1 ? argv : argv.slice(0, dashdash)
  const after = dashdash === -1 ? [] : argv.slice(dashdash)
  if (args[0] === '--version') return { kind: 'run', argv }

  let namespace: string | undefined
  let context: string | undefined
  let kubeconfig: string | undefined
  let help = false
  const rest: string[] = []
  for (let i = 0; i < args.length; ) {
    const a = args[i]
    if (a === '-h' || a === '--help') {
      help = true
      i++
      continue
    }
    const taken = takeValueFlag(args, i)
    if (taken) {
      if (taken.value === undefined || taken.value === '') return { kind: 'error', message: `${taken.name} needs a value` }
      const what = VALUE_FLAGS[taken.name]
      if (what === 'namespace') namespace = taken.value
      else if (what === 'context') context = taken.value
      else kubeconfig = path.resolve(cwd, taken.value)
      i = taken.next
      continue
    }
    const name = a.split('=')[0]
    if (UNSUPPORTED.has(name)) {
      return { kind: 'error', message: `kubectl's ${name} is not passed on by kubectl pds: choose the cluster with --context or --kubeconfig${name === '--request-timeout' ? ', and the deadline of each request with --timeout SECONDS' : ''}` }
    }
    rest.push(a)
    i++
  }

  // Leading pdsctl flags (`kubectl pds --json status`) go after the command's words.
  let words: string[] = []
  let start = rest.findIndex((a) => WORD.test(a))
  if (start > 0) {
    const { hoistLeadingFlags } = await import('./argv.js')
    const hoisted = hoistLeadingFlags(rest)
    rest.splice(0, rest.length, ...hoisted)
    start = rest.findIndex((a) => WORD.test(a))
  }
  if (start === 0) {
    let k = 0
    while (k < rest.length && k < 3 && WORD.test(rest[k])) k++
    words = rest.slice(0, k)
  }
  if (words[0] === 'help') return { kind: 'help', words: words.slice(1) }
  if (words[0] === 'options' && words.length === 1) return { kind: 'help', words: [], options: true }
  if (words.length === 0) return help || rest.length === 0 ? { kind: 'help', words: [] } : { kind: 'error', message: `"${rest[0]}" is not a kubectl pds command. Run kubectl pds --help for the list` }
  const mapped = (KUBE_VERBS as readonly string[]).includes(words[0]) ? ['k8s', ...words] : words
  if (help) return { kind: 'help', words: mapped }

  const found = await lookup(mapped)
  if (!found) return { kind: 'not-found', words }
  // The words past the command's (an account, a directory) and the other flags stay as given.
  const others = [...mapped.slice(found.consumed), ...rest.slice(words.length)]
  const out = [...mapped.slice(0, found.consumed), ...others]
  if (namespace !== undefined) {
    if (found.flags.has('kube-namespace')) out.push('--kube-namespace', namespace)
    else if (found.flags.has('namespace')) out.push('--namespace', namespace)
    else return { kind: 'error', message: `kubectl pds ${words.join(' ')} does not take -n/--namespace` }
  }
  if (context !== undefined) {
    if (!found.flags.has('kube-context')) return { kind: 'error', message: `kubectl pds ${words.join(' ')} does not take --context` }
    out.push('--kube-context', context)
  }
  // Reach the PDS through the cluster, finding what was not named, unless a URL is given.
  const givesUrl = others.some((a) => a === '--url' || a.startsWith('--url='))
  if (found.flags.has('kube') && !givesUrl && !others.includes('--kube')) out.push('--kube')
  return { kind: 'run', argv: [...out, ...after], kubeconfig }
}

/**
 * The command file bin/run.js would run for these words (dist/run/<words>/main.js, the
 * longest match), with the flags its class declares; read from the class itself, which
 * bin/run.js then imports again from the module cache.
 */
export function commandLookup(distRun: URL): CommandLookup {
  return async (words) => {
    const { existsSync } = process.getBuiltinModule('node:fs')
    for (let k = words.length; k > 0; k--) {
      if (!words.slice(0, k).every((w) => WORD.test(w))) continue
      for (const file of [`${words.slice(0, k).join('/')}/main.js`, `${words.slice(0, k).join('/')}/index/main.js`]) {
        const url = new URL(file, distRun)
        if (!existsSync(url)) continue
        const mod = (await import(url.href)) as { default?: { flags?: object; baseFlags?: object } }
        const cls = mod.default ?? (Object.values(mod).find((c) => typeof (c as { run?: unknown })?.run === 'function') as { flags?: object; baseFlags?: object } | undefined)
        const flags = new Set([...Object.keys(cls?.baseFlags ?? {}), ...Object.keys(cls?.flags ?? {})])
        return { id: words.slice(0, k).join(':'), flags, consumed: k }
      }
    }
    return undefined
  }
}
