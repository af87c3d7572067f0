// Positional argument definitions without loading oclif (see flags.ts): oclif's own
// argument objects, as @oclif/core's Args.string makes them (`type`, `input`, an async
// `parse`, the options given), typed as oclif's builder. `ignoreStdin`: pdsctl never reads a
// missing argument from stdin (oclif's parser would, when stdin is not a terminal); so
// oclif's parser, run on them by test/base/parse-differential.test.ts, reads what
// parse.ts reads. Options parse.ts does not implement are refused here, as in flags.ts.
import type * as OclifArgs from '@oclif/core/args'

const SUPPORTED = new Set(['description', 'required', 'default', 'options', 'hidden'])

export const string = ((options: Record<string, unknown> = {}) => {
  const refused = Object.keys(options).filter((k) => !SUPPORTED.has(k))
  if (typeof options.default === 'function') refused.push('default (a function)')
  if (refused.length) throw new Error(`pdsctl's parser (src/base/parse.ts) does not implement the argument option${refused.length === 1 ? '' : 's'} ${refused.join(', ')}`)
  return {
    parse: async (input: string) => input,
    ...options,
    ignoreStdin: true,
    input: [],
    type: 'option',
  }
}) as unknown as typeof OclifArgs.string
