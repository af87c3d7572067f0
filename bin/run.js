#!/usr/bin/env -S node --
// pdsctl entry point (the published binary). Runs the compiled commands in dist/ with
// the oclif manifest, so start-up never scans or compiles anything.
// The `--` in the shebang ends Node's own options: without it Node takes `--env-file`
// (and friends) after the script name for itself (nodejs/node#54232), loading or failing
// on the file before pdsctl sees the flag.
import module from 'node:module'

const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(`Error: pdsctl needs Node.js 22 or newer (this is ${process.version}). Install a current Node.js.\n`)
  process.exit(2)
}
// A reader that went away (`pdsctl account list | head`) ends pdsctl quietly, as with gh
// and kubectl: exit 0, no EPIPE error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0)
    throw err
  })
}
// Nothing left to wait for while the command has not finished: its input ended under it
// (Ctrl-D at a prompt). Say so, instead of Node's "unsettled top-level await" (exit 13).
let finished = false
process.once('beforeExit', () => {
  if (!finished) {
    process.stderr.write('Error: interrupted (the input ended)\n')
    process.exit(130)
  }
})
// Cache V8 bytecode of the modules pdsctl loads (oclif, undici, …) between runs.
module.enableCompileCache?.()
const [{ hoistLeadingFlags }, { execute }] = await Promise.all([import('../dist/lib/cli/argv.js'), import('@oclif/core/execute')])
await execute({ dir: import.meta.url, args: hoistLeadingFlags(process.argv.slice(2)) })
finished = true
