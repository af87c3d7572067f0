// Flag definitions for pdsctl's commands, without loading oclif. Importing any part of
// @oclif/core (even its flags module) loads 60–100 of its files, ~30 ms of every run; a
// command's flags only need to be plain objects. These builders return the same objects
// oclif's would (type 'boolean' or 'option', the options given), so oclif's manifest
// builder, help and completion read them unchanged, and they are typed as oclif's own
// builders so that `InferredFlags` gives each command its flag types. src/base/parse.ts
// reads them on a run.
import type * as OclifFlags from '@oclif/core/flags'

interface OptionDefinition {
  type: 'option'
  multiple: boolean
  input: string[]
  /** pdsctl's parser: how a value is read (`integer` checks min/max). */
  valueKind: 'string' | 'integer'
  [key: string]: unknown
}

const option =
  (valueKind: OptionDefinition['valueKind']) =>
  (options: Record<string, unknown> = {}): OptionDefinition => ({
    ...options,
    input: [],
    multiple: Boolean(options.multiple),
    type: 'option',
    valueKind,
  })

export const string = option('string') as unknown as typeof OclifFlags.string
export const integer = option('integer') as unknown as typeof OclifFlags.integer
export const boolean = ((options: Record<string, unknown> = {}) => ({
  ...options,
  allowNo: Boolean(options.allowNo),
  type: 'boolean',
})) as unknown as typeof OclifFlags.boolean
