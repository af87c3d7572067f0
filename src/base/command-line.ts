// What bin/run.js reads before it knows the command, when the command line starts with a
// flag or names no command: the order rules (src/lib/cli/argv.ts) and the flags every
// command shares, from the base command's own definitions (global-flags.ts). The build
// bundles this module into one file, dist/run/command-line.js (scripts/bundle-commands.mjs):
// one import instead of six modules (argv, global-flags, flags, parse, errors, suggest).
import { CONNECTION_FLAGS, OUTPUT_FLAGS } from './global-flags.js'

export { hoistLeadingFlags, misplacedFlagsLine } from '../lib/cli/argv.js'

export const SHARED_FLAGS = { ...OUTPUT_FLAGS, ...CONNECTION_FLAGS }
