#!/usr/bin/env -S node --
// `kubectl pds …`: pdsctl as a kubectl plugin. kubectl runs this file (installed on PATH as
// `kubectl-pds`: package.json "bin") with every word after `pds`, its own flags included.
// It turns kubectl's command line into pdsctl's (src/lib/cli/kubectlPlugin.ts: `status` is
// `k8s status`, -n/--namespace, --context and --kubeconfig become pdsctl's, the PDS is
// found in the cluster), answers help in kubectl's words, and hands everything else to
// bin/run.js, pdsctl's own entry, as though pdsctl had been given those arguments: the same
// run path, start-up and exit codes. pdsctl then names itself `kubectl pds` in its
// messages (src/base/command.ts: it was started as kubectl-pds).
const [major] = process.versions.node.split('.').map(Number)
if (major < 22 || typeof process.getBuiltinModule !== 'function') {
  process.stderr.write(`Error: kubectl pds needs Node.js 22 or newer (this is ${process.version}). Install a current Node.js.\n`)
  process.exit(2)
}
const { planPluginRun, commandLookup } = await import('../dist/lib/cli/kubectlPlugin.js')
const plan = await planPluginRun(process.argv.slice(2), commandLookup(new URL('../dist/run/', import.meta.url)))
if (plan.kind === 'run') {
  // kubectl's --kubeconfig, for every kubectl pdsctl starts (as kubectl itself reads it).
  if (plan.kubeconfig) process.env.KUBECONFIG = plan.kubeconfig
  process.argv.splice(2, process.argv.length - 2, ...plan.argv)
  await import('./run.js')
} else if (plan.kind === 'error') {
  // The words it quotes are the command line's: one line, escaped, as pdsctl's own error lines.
  const { terminalLine } = await import('../dist/lib/cli/terminalText.js')
  process.stderr.write(`Error: ${terminalLine(plan.message)}\n`)
  process.exitCode = 2
} else {
  const help = await import('../dist/lib/cli/kubectlPluginHelp.js')
  const { readFileSync } = process.getBuiltinModule('node:fs')
  const manifest = JSON.parse(readFileSync(new URL('../oclif.manifest.json', import.meta.url), 'utf8'))
  const { terminalLine } = await import('../dist/lib/cli/terminalText.js')
  if (plan.kind === 'not-found') {
    process.stderr.write(`Error: ${terminalLine(help.notFoundLine(manifest, plan.words))}\n`)
    process.exitCode = 2
  } else {
    const text = plan.options ? help.optionsHelp(manifest) : plan.words.length ? help.commandHelp(manifest, plan.words) : help.overviewHelp(manifest)
    if (text === undefined) {
      process.stderr.write(`Error: ${terminalLine(help.notFoundLine(manifest, plan.words))}\n`)
      process.exitCode = 2
    } else process.stdout.write(text)
  }
}
