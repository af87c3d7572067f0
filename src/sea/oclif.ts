// What the single executable's help, completion and unknown-command paths use (src/sea/main.ts's
// viaOclif): oclif and pdsctl's Help class and command_not_found hook, in one module that
// scripts/build-binary.mjs bundles on its own, as an asset of the executable loaded only on
// those paths (a command's run never compiles oclif).
export { Config, flush, handle } from '@oclif/core'
export { getHelpFlagAdditions, normalizeArgv } from '@oclif/core/help'
export { error, exit } from '@oclif/core/errors'
export { default as PdsctlHelp } from '../base/help.js'
export { default as notFound } from '../base/not-found.js'
