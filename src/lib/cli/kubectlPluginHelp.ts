// Help for `kubectl pds`, in kubectl's own layout and words (summary, description,
// Examples:, Options: with `--flag=default:` and the text on the next line, Usage:, and the
// closing "Use … for more information" lines), made from pdsctl's manifest: the commands,
// their flags and examples, with pdsctl's names turned into the plugin's (`pdsctl k8s
// status --kube-namespace X` is `kubectl pds status -n X`). Loaded only when help is shown.
import { suggestCommand } from './suggest.js'
import { KUBE_VERBS } from './kubectlPlugin.js'

interface ManifestFlag {
  name: string
  char?: string
  description?: string
  type: 'boolean' | 'option'
  default?: unknown
  hidden?: boolean
  helpGroup?: string
  allowNo?: boolean
}
interface ManifestCommand {
  id: string
  summary?: string
  description?: string
  examples?: Array<string | { command: string; description: string }>
  flags: Record<string, ManifestFlag>
  args: Record<string, { name: string; description?: string; required?: boolean }>
  hidden?: boolean
  strict?: boolean
}
export interface Manifest {
  commands: Record<string, ManifestCommand>
}

const BIN = 'kubectl pds'

/** k8s:status → "status"; account:list → "account list". */
export function pluginWords(id: string): string {
  const [topic, verb, ...more] = id.split(':')
  if (topic === 'k8s' && verb && (KUBE_VERBS as readonly string[]).includes(verb) && more.length === 0) return verb
  return id.split(':').join(' ')
}

/** pdsctl's words and flags in a line of text, as the plugin takes them. */
export function toPluginText(text: string): string {
  return text
    .replace(/<%= config\.bin %>/g, 'pdsctl')
    .replace(/\bpdsctl k8s (status|upgrade|forward|manifests)\b/g, `${BIN} $1`)
    .replace(/\bpdsctl\b/g, BIN)
    .replace(/--kube-namespace[ =](\S+)/g, '-n $1')
    .replace(/--kube-context[ =](\S+)/g, '--context $1')
}

/** kubectl's flag block: `    -y, --yes=false:` then the description on the next line, indented by a tab. */
function flagBlock(flags: ManifestFlag[]): string {
  return flags
    .map((f) => {
      const value = f.type === 'boolean' ? 'false' : f.default === undefined ? "''" : typeof f.default === 'string' ? `'${f.default}'` : String(f.default)
      const name = `${f.char ? `-${f.char}, ` : ''}--${f.name}=${value}:`
      return `    ${name}\n${wrap(toPluginText(f.description ?? ''), 92).split('\n').map((l) => `\t${l}`).join('\n')}`
    })
    .join('\n\n')
}

const KUBECTL_FLAGS = `    -n, --namespace='':
\tThe namespace the PDS runs in (default: the kubeconfig context's).

    --context='':
\tThe kubeconfig context to use.

    --kubeconfig='':
\tPath to the kubeconfig file to use (default: KUBECONFIG, else ~/.kube/config).`

const HOW = `The PDS is reached through kubectl port-forward to its Service, found by the PDS's labels (app.kubernetes.io/name=pds), by the Deployment running ghcr.io/bluesky-social/pds that it selects, or by its name (pds, bluesky); the admin password is read, when a command needs it, from the Secret the PDS Deployment reads PDS_ADMIN_PASSWORD from (env valueFrom.secretKeyRef, or envFrom). -n/--namespace, --context and --kubeconfig mean what they mean to kubectl; --kube-service NAME names the Service, --url skips the cluster.`

/** Lines wrapped at `width` columns, as kubectl's help is; a wrapped line keeps its indent. */
export function wrap(text: string, width = 100): string {
  return text
    .split('\n')
    .map((line) => {
      const indent = /^\s*/.exec(line)![0]
      const out: string[] = []
      let cur = ''
      for (const word of line.slice(indent.length).split(' ')) {
        if (cur && indent.length + cur.length + 1 + word.length > width) {
          out.push(indent + cur)
          cur = word
        } else cur = cur ? `${cur} ${word}` : word
      }
      out.push(indent + cur)
      return out.join('\n')
    })
    .join('\n')
}

function visible(m: Manifest): ManifestCommand[] {
  return Object.values(m.commands).filter((c) => !c.hidden)
}

function table(rows: Array<[string, string]>): string {
  const width = Math.max(...rows.map(([a]) => a.length)) + 3
  return rows.map(([a, b]) => `  ${a.padEnd(width)}${b}`).join('\n')
}

/** `kubectl pds --help`, `kubectl pds` alone. */
export function overviewHelp(m: Manifest): string {
  const all = visible(m)
  const kube = KUBE_VERBS.map((v) => all.find((c) => c.id === `k8s:${v}`)).filter((c): c is ManifestCommand => Boolean(c))
  const rest = all.filter((c) => !kube.includes(c)).sort((a, b) => a.id.localeCompare(b.id))
  return `Operate the Bluesky PDS in your cluster with kubectl's own flags: pdsctl as a kubectl plugin.

${wrap(` ${HOW}`)}

Kubernetes Commands:
${table(kube.map((c) => [pluginWords(c.id), c.summary ?? '']))}

PDS Commands:
${table(rest.map((c) => [pluginWords(c.id), c.summary ?? '']))}

Examples:
  # The PDS in namespace bluesky at a glance
  ${BIN} status -n bluesky

  # Its accounts, as JSON, in another cluster
  ${BIN} account list -n bluesky --context home --json

  # Upgrade it (never a downgrade), with a backup first
  ${BIN} upgrade -n bluesky --image-tag 0.4.5026 --backup ~/pds-backups

Options:
${KUBECTL_FLAGS}

Usage:
  ${BIN} [command] [options]

Use "${BIN} <command> --help" for more information about a given command.
Use "${BIN} options" for a list of global command-line options (applies to all commands).
`
}

/** The flags every command that reaches the PDS takes (the base command's), by name. */
function sharedFlags(m: Manifest): Set<string> {
  const pds = visible(m).filter((c) => 'kube' in c.flags)
  return new Set(Object.keys(pds[0]?.flags ?? {}).filter((name) => pds.every((c) => name in c.flags)))
}

/** `kubectl pds options`: the flags every command shares. */
export function optionsHelp(m: Manifest): string {
  const any = visible(m).find((c) => 'kube' in c.flags)
  const names = sharedFlags(m)
  const shared = Object.values(any?.flags ?? {}).filter((f) => names.has(f.name) && !f.hidden && !['kube-namespace', 'kube-context', 'kube', 'context'].includes(f.name))
  return `The following options can be passed to any command:

${KUBECTL_FLAGS}

${flagBlock(shared)}

--context is kubectl's here, not pdsctl's saved contexts: the PDS is the one in the cluster kubectl points at.
`
}

/** `kubectl pds COMMAND --help`; undefined when no such command. */
export function commandHelp(m: Manifest, words: string[]): string | undefined {
  const c = m.commands[words.join(':')]
  if (!c) return undefined
  const name = pluginWords(c.id)
  // A command's own flags: those the commands do not all share (--kube-deployment has a help group, but is its own).
  const shared = sharedFlags(m)
  const own = Object.values(c.flags).filter((f) => !f.hidden && (!f.helpGroup || !shared.has(f.name)))
  const takesKube = 'kube' in c.flags
  const args = Object.values(c.args ?? {})
  const usageArgs = args.map((a) => (a.required ? a.name.toUpperCase() : `[${a.name.toUpperCase()}]`)).join(' ')
  const examples = (c.examples ?? []).map((e) => (typeof e === 'string' ? e : `# ${e.description}\n${e.command}`)).flatMap((e) => e.split('\n')).map((l) => `  ${toPluginText(l)}`)
  const description = c.description ? wrap(toPluginText(c.description).split('\n').map((l) => ` ${l}`).join('\n')) : ''
  const sections = [
    toPluginText(c.summary ?? ''),
    description,
    examples.length ? `Examples:\n${examples.join('\n')}` : '',
    own.length || takesKube ? `Options:\n${[takesKube ? KUBECTL_FLAGS : '', flagBlock(own)].filter(Boolean).join('\n\n')}` : '',
    args.length ? `Arguments:\n${table(args.map((a) => [a.name.toUpperCase(), a.description ?? '']))}` : '',
    `Usage:\n  ${BIN} ${name}${usageArgs ? ` ${usageArgs}` : ''} [options]`,
    `Use "${BIN} options" for a list of global command-line options (applies to all commands).`,
  ]
  return sections.filter(Boolean).join('\n\n') + '\n'
}

/** One line for words that name no command, with the nearest one. */
export function notFoundLine(m: Manifest, words: string[]): string {
  const ids = visible(m).flatMap((c) => [c.id.split(':'), pluginWords(c.id).split(' ')])
  const topics = [...new Set(visible(m).map((c) => c.id.split(':')[0]))].map((t) => [t])
  const suggestion = suggestCommand(words, [...ids, ...topics])
  const typed = words.join(' ')
  return suggestion ? `"${typed}" is not a ${BIN} command. Did you mean: ${BIN} ${suggestion.join(' ')}?` : `"${typed}" is not a ${BIN} command. Run ${BIN} --help for the list`
}
