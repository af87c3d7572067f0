// Positional argument definitions without loading oclif (see flags.ts): plain objects of
// the shape oclif's manifest builder and help read, typed as oclif's builder.
import type * as OclifArgs from '@oclif/core/args'

export const string = ((options: Record<string, unknown> = {}) => ({
  ...options,
  input: [],
  type: 'option',
})) as unknown as typeof OclifArgs.string
