#!/usr/bin/env node
// pdsctl entry point (the published binary). Runs the compiled commands in dist/ with
// the oclif manifest, so start-up never scans or compiles anything.
import module from 'node:module'

const [major] = process.versions.node.split('.').map(Number)
if (major < 22) {
  process.stderr.write(`Error: pdsctl needs Node.js 22 or newer (this is ${process.version}). Install a current Node.js.\n`)
  process.exit(2)
}
// Cache V8 bytecode of the modules pdsctl loads (oclif, undici, …) between runs.
module.enableCompileCache?.()
const [{ hoistLeadingFlags }, { execute }] = await Promise.all([import('../dist/lib/cli/argv.js'), import('@oclif/core/execute')])
await execute({ dir: import.meta.url, args: hoistLeadingFlags(process.argv.slice(2)) })
