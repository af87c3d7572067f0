// kubectl pds: a kubectl command line turned into pdsctl's (the plan), and the help in
// kubectl's layout made from pdsctl's real manifest.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { commandLookup, planPluginRun, type CommandLookup } from '../../../src/lib/cli/kubectlPlugin.js'
import { commandHelp, notFoundLine, optionsHelp, overviewHelp, pluginWords, toPluginText, wrap, type Manifest } from '../../../src/lib/cli/kubectlPluginHelp.js'
import { ROOT } from '../../helpers/cli.js'

// The commands as the manifest declares them: which words name one, and its flags.
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as Manifest
const lookup: CommandLookup = async (words) => {
  for (let k = words.length; k > 0; k--) {
    const c = manifest.commands[words.slice(0, k).join(':')]
    if (c) return { id: c.id, flags: new Set(Object.keys(c.flags)), consumed: k }
  }
  return undefined
}
const plan = (argv: string[]) => planPluginRun(argv, lookup, '/home/op')

describe('kubectl pds: the command line', () => {
  test('kubectl\'s -n/--namespace and --context become pdsctl\'s --kube-*, in every form; the PDS is found (--kube)', async () => {
    for (const argv of [
      ['status', '-n', 'bluesky', '--context', 'home'],
      ['status', '-nbluesky', '--context=home'],
      ['status', '-n=bluesky', '--context', 'home'],
      ['-n', 'bluesky', 'status', '--context', 'home'],
      ['--namespace', 'bluesky', '--context', 'home', 'status'],
      ['status', '--namespace=bluesky', '--context=home'],
    ]) {
      assert.deepEqual(await plan(argv), { kind: 'run', argv: ['k8s', 'status', '--kube-namespace', 'bluesky', '--kube-context', 'home', '--kube'], kubeconfig: undefined }, argv.join(' '))
    }
  })

  test('status, upgrade, forward, manifests are k8s …; every other command keeps its words, arguments and flags', async () => {
    assert.deepEqual(await plan(['upgrade', '--image-tag', '0.4.5026', '--yes']), { kind: 'run', argv: ['k8s', 'upgrade', '--image-tag', '0.4.5026', '--yes', '--kube'], kubeconfig: undefined })
    assert.deepEqual(await plan(['account', 'list', '--json']), { kind: 'run', argv: ['account', 'list', '--json', '--kube'], kubeconfig: undefined })
    assert.deepEqual(await plan(['account', 'info', 'alice.test', '-n', 'x']), { kind: 'run', argv: ['account', 'info', 'alice.test', '--kube-namespace', 'x', '--kube'], kubeconfig: undefined })
    // A one-word argument after the command's words is still an argument.
    assert.deepEqual(await plan(['backup', 'mydir']), { kind: 'run', argv: ['backup', 'mydir', '--kube'], kubeconfig: undefined })
    assert.deepEqual(await plan(['k8s', 'status']), { kind: 'run', argv: ['k8s', 'status', '--kube'], kubeconfig: undefined }, 'pdsctl\'s own words work too')
    // Leading pdsctl flags go after the words; what follows -- is left alone.
    assert.deepEqual(await plan(['--json', '--timeout', '5', 'status', '--', '-n']), { kind: 'run', argv: ['k8s', 'status', '--json', '--timeout', '5', '--kube', '--', '-n'], kubeconfig: undefined })
  })

  test('--kubeconfig is KUBECONFIG for every kubectl pdsctl starts (an absolute path); --url skips the cluster', async () => {
    assert.deepEqual(await plan(['status', '--kubeconfig', 'k.yaml']), { kind: 'run', argv: ['k8s', 'status', '--kube'], kubeconfig: '/home/op/k.yaml' })
    assert.deepEqual(await plan(['health', '--kubeconfig=/etc/k']), { kind: 'run', argv: ['health', '--kube'], kubeconfig: '/etc/k' })
    assert.deepEqual(await plan(['health', '--url', 'https://pds.example']), { kind: 'run', argv: ['health', '--url', 'https://pds.example'], kubeconfig: undefined })
  })

  test('commands that reach no PDS get no --kube; -n is their own --namespace where they have one, else refused', async () => {
    assert.deepEqual(await plan(['manifests', '-n', 'pds', '--hostname', 'pds.example.com']), { kind: 'run', argv: ['k8s', 'manifests', '--hostname', 'pds.example.com', '--namespace', 'pds'], kubeconfig: undefined })
    assert.deepEqual(await plan(['secrets', 'generate', '-n', 'pds']), { kind: 'run', argv: ['secrets', 'generate', '--namespace', 'pds'], kubeconfig: undefined })
    assert.deepEqual(await plan(['context', 'list', '-n', 'pds']), { kind: 'error', message: 'kubectl pds context list does not take -n/--namespace' })
    assert.deepEqual(await plan(['context', 'list', '--context', 'x']), { kind: 'error', message: 'kubectl pds context list does not take --context' })
  })

  test('help in every kubectl form; unknown commands; kubectl flags pdsctl cannot honour', async () => {
    assert.deepEqual(await plan([]), { kind: 'help', words: [] })
    assert.deepEqual(await plan(['--help']), { kind: 'help', words: [] })
    assert.deepEqual(await plan(['-h']), { kind: 'help', words: [] })
    assert.deepEqual(await plan(['status', '--help']), { kind: 'help', words: ['k8s', 'status'] })
    assert.deepEqual(await plan(['account', 'list', '-h', '-n', 'x']), { kind: 'help', words: ['account', 'list'] })
    assert.deepEqual(await plan(['help', 'account', 'list']), { kind: 'help', words: ['account', 'list'] })
    assert.deepEqual(await plan(['options']), { kind: 'help', words: [], options: true })
    assert.deepEqual(await plan(['acount', 'list']), { kind: 'not-found', words: ['acount', 'list'] })
    assert.deepEqual(await plan(['--version']), { kind: 'run', argv: ['--version'] })
    assert.deepEqual(await plan(['status', '-n']), { kind: 'error', message: '-n needs a value' })
    assert.deepEqual(await plan(['status', '--server', 'https://x']), { kind: 'error', message: "kubectl's --server is not passed on by kubectl pds: choose the cluster with --context or --kubeconfig" })
    assert.match((await plan(['status', '--request-timeout=5s'])).kind, /^error$/)
  })

  test('the lookup finds the bundled command file bin/run.js runs, with its class\'s flags', async () => {
    const find = commandLookup(pathToFileURL(path.join(ROOT, 'dist/run/')))
    const status = await find(['k8s', 'status'])
    assert.equal(status?.id, 'k8s:status')
    assert.equal(status?.consumed, 2)
    assert.ok(status?.flags.has('kube') && status.flags.has('kube-namespace') && status.flags.has('events'))
    const backup = await find(['backup', 'mydir'])
    assert.deepEqual([backup?.id, backup?.consumed], ['backup', 1])
    assert.equal(await find(['acount', 'list']), undefined)
    assert.equal(await find(['..', 'x']), undefined)
  })
})

describe('kubectl pds: help in kubectl\'s words', () => {
  test('the overview: Kubernetes commands first, every other command, kubectl\'s flags, Usage and the closing lines', () => {
    const text = overviewHelp(manifest)
    assert.match(text, /^Operate the Bluesky PDS in your cluster/)
    assert.match(text, /\nKubernetes Commands:\n {2}status {6}The PDS in Kubernetes at a glance[^\n]*\n {2}upgrade {5}Upgrade the PDS Deployment[^\n]*\n {2}forward {5}[^\n]*\n {2}manifests {3}[^\n]*\n\nPDS Commands:\n/)
    assert.match(text, /\n {2}account list +List every account/)
    assert.doesNotMatch(text, /kube forward|k8s status/, 'hidden and pdsctl-only names are not listed')
    assert.match(text, /\nOptions:\n {4}-n, --namespace='':\n\tThe namespace the PDS runs in/)
    assert.match(text, /\nUsage:\n {2}kubectl pds \[command\] \[options\]\n\nUse "kubectl pds <command> --help" for more information about a given command\.\nUse "kubectl pds options" for a list of global command-line options \(applies to all commands\)\.\n$/)
  })

  test('a command: summary, description, examples and usage named as the plugin takes them', () => {
    const text = commandHelp(manifest, ['k8s', 'upgrade'])!
    assert.match(text, /^Upgrade the PDS Deployment/)
    assert.match(text, /\nExamples:\n {2}kubectl pds upgrade -n bluesky --kube-service bluesky\n/)
    assert.match(text, /\n {4}--allow-downgrade=false:\n\tLet a move to an older PDS version/)
    assert.match(text, /\n {4}--rollout-timeout=300:\n/)
    assert.match(text, /\n {4}--kube-deployment='':\n/, 'its own Kubernetes flag')
    assert.doesNotMatch(text, /--json=false|--kube-namespace|pdsctl|<%=/)
    assert.match(text, /\nUsage:\n {2}kubectl pds upgrade \[options\]\n\nUse "kubectl pds options" for a list of global command-line options/)
    assert.match(commandHelp(manifest, ['account', 'info'])!, /\nUsage:\n {2}kubectl pds account info ACCOUNT \[options\]\n/)
    assert.equal(commandHelp(manifest, ['nope']), undefined)
    const options = optionsHelp(manifest)
    assert.match(options, /^The following options can be passed to any command:\n\n {4}-n, --namespace='':/)
    assert.match(options, /\n {4}--json=false:\n/)
    assert.match(options, /\n {4}--timeout=30:\n/)
    assert.doesNotMatch(options, /--kube-namespace|--kube-context|--kube=|--context=''[\s\S]*--context=''/)
  })

  test('words and text: pdsctl\'s names become the plugin\'s; wrapping keeps indents; did-you-mean', () => {
    assert.equal(pluginWords('k8s:status'), 'status')
    assert.equal(pluginWords('account:invites:enable'), 'account invites enable')
    assert.equal(toPluginText('<%= config.bin %> k8s status --kube-namespace bluesky --kube-context=home'), 'kubectl pds status -n bluesky --context home')
    assert.equal(toPluginText('run `pdsctl backup DIR` first'), 'run `kubectl pds backup DIR` first')
    assert.equal(wrap(' aaa bbb ccc', 8), ' aaa bbb\n ccc')
    assert.equal(notFoundLine(manifest, ['acount', 'list']), '"acount list" is not a kubectl pds command. Did you mean: kubectl pds account list?')
    assert.equal(notFoundLine(manifest, ['statsu']), '"statsu" is not a kubectl pds command. Did you mean: kubectl pds status?')
    assert.equal(notFoundLine(manifest, ['zzzzzzzz']), '"zzzzzzzz" is not a kubectl pds command. Run kubectl pds --help for the list')
  })
})
