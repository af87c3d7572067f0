// Flag definitions for pdsctl's commands, without loading oclif. Importing any part of
// @oclif/core (even its flags module) loads 60–100 of its files, ~30 ms of every run; a
// command's flags only need to be plain objects.
//
// What the builders return: oclif's own flag objects, field for field as @oclif/core's
// builders make them (`type`, `input`, `multiple`, `allowNo`, an async `parse`, the options
// given), plus two fields that say how pdsctl's parser (parse.ts) reads them: `valueKind`
// ('integer' values are checked against min/max), and `multipleNonGreedy` on a repeatable
// flag (it takes one value each time it is given, never the arguments after it). So oclif's
// manifest builder, help, completion and its Parser read them unchanged, and
// test/base/parse-differential.test.ts runs oclif's parser on them against pdsctl's.
// They are typed as oclif's builders so that `InferredFlags` gives each command its flag
// types; an option of oclif's that parse.ts does not implement (exactlyOne, relationships,
// a custom parse, a default computed by a function, …) would be silently ignored on a run,
// so it is refused when the flag is defined (every test that loads the command fails).
import type * as OclifFlags from '@oclif/core/flags'
import { UsageError } from '../lib/errors.js'
import { optionValue, type FlagDefinition } from './parse.js'

/** The options parse.ts implements (the rest of each name is help text). */
const SUPPORTED = new Set([
  'description', 'summary', 'helpGroup', 'helpLabel', 'helpValue', 'hidden', 'noCacheDefault',
  'char', 'aliases', 'charAliases', 'required', 'default', 'env', 'exclusive', 'dependsOn',
  'options', 'multiple', 'min', 'max', 'allowNo',
])

function checkSupported(options: Record<string, unknown>): void {
  const refused = Object.keys(options).filter((k) => !SUPPORTED.has(k))
  if (typeof options.default === 'function') refused.push('default (a function)')
  if (refused.length) throw new Error(`pdsctl's parser (src/base/parse.ts) does not implement the flag option${refused.length === 1 ? '' : 's'} ${refused.join(', ')}`)
}

const usageError = (line: string): never => {
  throw new UsageError(line)
}

interface OptionDefinition {
  type: 'option'
  multiple: boolean
  multipleNonGreedy?: true
  input: string[]
  /** pdsctl's parser: how a value is read (`integer` checks min/max). */
  valueKind: 'string' | 'integer'
  parse: (input: string, context: unknown, flag: FlagDefinition & { name: string }) => Promise<string | number>
  [key: string]: unknown
}

const option =
  (valueKind: OptionDefinition['valueKind']) =>
  (options: Record<string, unknown> = {}): OptionDefinition => {
    checkSupported(options)
    return {
      // oclif's integer flag checks the number in its parse; so does this one, as parse.ts does.
      parse: async (input, _context, flag) => optionValue(flag.name, flag, input, usageError),
      ...options,
      input: [],
      multiple: Boolean(options.multiple),
      ...(options.multiple ? { multipleNonGreedy: true as const } : {}),
      type: 'option',
      valueKind,
    }
  }

export const string = option('string') as unknown as typeof OclifFlags.string
export const integer = option('integer') as unknown as typeof OclifFlags.integer
export const boolean = ((options: Record<string, unknown> = {}) => {
  checkSupported(options)
  return {
    parse: async (value: boolean) => value,
    ...options,
    allowNo: Boolean(options.allowNo),
    type: 'boolean',
  }
}) as unknown as typeof OclifFlags.boolean
