// pdsctl's command-line parser: reads argv against a command's flag and argument
// definitions (src/base/flags.ts, args.ts) and fails with one line in pdsctl's words:
//   unknown flag --jsn; did you mean --json? (see pdsctl account list --help)
//   missing ACCOUNT (the account: handle or DID). Fix: pdsctl account info ACCOUNT
//   --confirmed and --unconfirmed cannot be used together (see pdsctl account list --help)
// It replaces oclif's parser on the run path (whose import alone costs ~30 ms of every
// run); the rules are those of gh and kubectl: `--name value`, `--name=value`, `-c value`,
// `-cvalue`, `-c=value`, grouped short booleans (`-yq`), `--no-name` for a boolean that
// allows it, `--` ends the flags, `-` is an argument, a repeatable flag takes one value
// each time it is given, a flag given twice that is not repeatable is an error. No oclif
// import: src/base only shares oclif's object shapes.
// test/base/parse-differential.test.ts runs this parser and oclif's on the same argv for
// every command and lists where they differ on purpose: pdsctl refuses a value given to a
// boolean (`--json=false`), a flag or `--` taken as a value (`--url --json`, `--url --`),
// and takes a value attached to its flag as it is (`--url=-x`).
import { UsageError } from '../lib/errors.js'
import { closest } from '../lib/cli/suggest.js'

export interface FlagDefinition {
  type: 'boolean' | 'option'
  char?: string
  /** Other long names (`--alias`) and letters (`-a`) for the same flag. */
  aliases?: string[]
  charAliases?: string[]
  /** A boolean that `--no-NAME` turns off. */
  allowNo?: boolean
  multiple?: boolean
  options?: readonly string[]
  /** 'integer' values are checked to be whole numbers within min/max. */
  valueKind?: 'string' | 'integer'
  min?: number
  max?: number
  default?: unknown
  env?: string
  required?: boolean
  exclusive?: string[]
  dependsOn?: string[]
  hidden?: boolean
  helpValue?: string | string[]
}

export interface ArgDefinition {
  description?: string
  required?: boolean
  default?: unknown
  options?: readonly string[]
}

export interface ParseInput {
  flags: Record<string, FlagDefinition>
  args: Record<string, ArgDefinition>
  /** false: extra positional arguments are kept (in `argv`) instead of refused. */
  strict: boolean
  /** For messages: the command (`account:list`) and the CLI's name. */
  id?: string
  bin: string
}

export interface ParseOutput {
  flags: Record<string, unknown>
  args: Record<string, string | undefined>
  /** Every positional argument, in order. */
  argv: string[]
}

export function parseCommandLine(argv: readonly string[], input: ParseInput): ParseOutput {
  const cmd = [input.bin, ...(input.id ? input.id.split(':') : [])].join(' ')
  const help = input.id ? `see ${cmd} --help` : 'see --help'
  const fail = (line: string): never => {
    throw new UsageError(`${line} (${help})`)
  }
  const defs = input.flags
  // Every name a flag answers to: its own, its aliases, `no-NAME` for a boolean that allows it.
  const byLong = new Map<string, { name: string; negated: boolean }>()
  const byChar = new Map<string, string>()
  for (const [name, def] of Object.entries(defs)) {
    for (const long of [name, ...(def.aliases ?? [])]) {
      byLong.set(long, { name, negated: false })
      if (def.type === 'boolean' && def.allowNo) byLong.set(`no-${long}`, { name, negated: true })
    }
    for (const char of [def.char, ...(def.charAliases ?? [])]) if (char) byChar.set(char, name)
  }

  const given = new Map<string, string[]>()
  const positionals: string[] = []
  const unknown: string[] = []
  const setFlag = (name: string, value: string) => {
    const def = defs[name]
    const values = given.get(name)
    if (values && def.type === 'option' && !def.multiple) fail(`--${name} was given twice`)
    if (values) values.push(value)
    else given.set(name, [value])
  }
  const isFlagToken = (t: string | undefined) => t !== undefined && t.length > 1 && t.startsWith('-') && !/^-\d/.test(t)
  const isKnownFlag = (t: string) => (t.startsWith('--') ? byLong.has(t.slice(2).split('=')[0]) : byChar.has(t[1]))
  const takeValue = (name: string, i: number): string => {
    const next = argv[i]
    // `--url --json`: the value was forgotten (a value that starts with - goes as --url=-x).
    if (next === undefined || next === '--' || (isFlagToken(next) && isKnownFlag(next))) {
      const def = defs[name]
      fail(def.options ? `--${name} needs a value: one of ${def.options.join(', ')}` : `--${name} needs a value`)
    }
    return next
  }

  let i = 0
  let flagsEnded = false
  while (i < argv.length) {
    const token = argv[i++]
    if (flagsEnded || !isFlagToken(token)) {
      positionals.push(token)
      continue
    }
    if (token === '--') {
      flagsEnded = true
      continue
    }
    if (token.startsWith('--')) {
      const eq = token.indexOf('=')
      const found = byLong.get(eq === -1 ? token.slice(2) : token.slice(2, eq))
      if (!found) {
        unknown.push(token)
        continue
      }
      const { name, negated } = found
      if (defs[name].type === 'boolean') {
        if (eq !== -1) fail(`${token.slice(0, eq)} takes no value (give ${token.slice(0, eq)} alone)`)
        setFlag(name, negated ? 'false' : 'true')
      } else {
        const value = eq === -1 ? takeValue(name, i++) : token.slice(eq + 1)
        setFlag(name, value)
      }
      continue
    }
    // Short flags: -y, -yq (booleans grouped), -o FILE, -oFILE, -o=FILE (-o= is empty, as --output=).
    for (let k = 1; k < token.length; k++) {
      const name = byChar.get(token[k])
      if (!name) {
        unknown.push(k === 1 ? token : `-${token[k]}`)
        break
      }
      if (defs[name].type === 'boolean') {
        setFlag(name, 'true')
        continue
      }
      const rest = token.slice(k + 1)
      setFlag(name, rest.startsWith('=') ? rest.slice(1) : rest || takeValue(name, i++))
      break
    }
  }

  if (unknown.length) {
    const known = Object.entries(defs)
      .filter(([, d]) => !d.hidden)
      .map(([n]) => `--${n}`)
    const parts = unknown.map((f) => {
      const guess = f.startsWith('--') ? closest(f.replace(/=.*$/, ''), known) : undefined
      return guess ? `unknown flag ${f}; did you mean ${guess}?` : `unknown flag ${f}`
    })
    fail(parts.join('; '))
  }

  // Values: each checked against its options or number range.
  const flags: Record<string, unknown> = {}
  const fromUser = new Set<string>()
  for (const [name, def] of Object.entries(defs)) {
    let raw = given.get(name)
    if (!raw && def.env && process.env[def.env]) raw = [process.env[def.env]!]
    if (raw) fromUser.add(name)
    if (def.type === 'boolean') {
      // The last one given wins (`--x --no-x` is off); from the environment, as oclif reads it.
      const on = given.has(name) ? raw!.at(-1) === 'true' : raw ? ['1', 'true', 'y', 'yes'].includes(raw[0].toLowerCase()) : undefined
      if (on !== undefined) flags[name] = on
      else if (def.default !== undefined) flags[name] = def.default
      continue
    }
    if (!raw) {
      if (def.default !== undefined) flags[name] = def.default
      continue
    }
    const values = raw.map((v) => optionValue(name, def, v, fail))
    flags[name] = def.multiple ? values : values[0]
  }

  // Positional arguments.
  const argDefs = Object.entries(input.args)
  if (input.strict && positionals.length > argDefs.length) {
    const extra = positionals.slice(argDefs.length)
    fail(`unexpected argument${extra.length === 1 ? '' : 's'} ${extra.join(', ')}`)
  }
  const args: Record<string, string | undefined> = {}
  const missingArgs: Array<[string, ArgDefinition]> = []
  argDefs.forEach(([name, def], n) => {
    const value = positionals[n] ?? (def.default as string | undefined)
    if (value === undefined && def.required) missingArgs.push([name, def])
    if (value !== undefined && def.options && !def.options.includes(value)) fail(`Expected ${value} to be one of: ${def.options.join(', ')}`)
    args[name] = value
  })
  if (missingArgs.length) {
    const what = missingArgs.map(([name, def]) =>
      def.description ? `${name.toUpperCase()} (${def.description.replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase())})` : name.toUpperCase(),
    )
    const usage = argDefs.filter(([, d]) => d.required).map(([name]) => name.toUpperCase())
    throw new UsageError(`missing ${what.join(' and ')}. Fix: ${cmd} ${usage.join(' ')}`)
  }

  // Relations between flags: required, exclusive, dependsOn.
  const missing = Object.entries(defs)
    .filter(([name, d]) => d.required && flags[name] === undefined)
    .map(([name]) => name)
  const problems: string[] = []
  const pairs = new Set<string>()
  for (const name of fromUser) {
    const def = defs[name]
    for (const other of def.exclusive ?? []) {
      if (!fromUser.has(other)) continue
      const pair = [`--${name}`, `--${other}`].sort().join(' and ')
      if (!pairs.has(pair)) problems.push(`${pair} cannot be used together`)
      pairs.add(pair)
    }
    const needed = (def.dependsOn ?? []).filter((d) => !fromUser.has(d))
    if (needed.length) problems.push(`--${name} needs ${needed.map((d) => `--${d}`).join(' and ')}`)
  }
  const parts: string[] = []
  if (missing.length) {
    const list = missing.map((m) => `--${m}`)
    const listed = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`
    const placeholder = (name: string) => {
      const hv = defs[name].helpValue
      return (Array.isArray(hv) ? hv[0] : hv) ?? name.toUpperCase().replace(/-/g, '_')
    }
    parts.push(`missing ${listed}. Fix: ${cmd} ${missing.map((m) => `--${m} ${placeholder(m)}`).join(' ')}`)
  }
  if (problems.length) parts.push(`${problems.join('; ')} (${help})`)
  if (parts.length) throw new UsageError(parts.join('; '))

  return { flags, args, argv: positionals }
}

/** A value of an option flag: one of its options, a whole number within min/max for an integer. */
export function optionValue(name: string, def: FlagDefinition, value: string, fail: (line: string) => never): string | number {
  if (def.options && !def.options.includes(value)) fail(`Expected --${name}=${value} to be one of: ${def.options.join(', ')}`)
  if (def.valueKind !== 'integer') return value
  if (!/^-?\d+$/.test(value)) fail(`--${name} takes a whole number, not "${value}"`)
  const n = Number.parseInt(value, 10)
  if (def.min !== undefined && n < def.min) fail(`--${name} must be at least ${def.min}, not ${value}`)
  if (def.max !== undefined && n > def.max) fail(`--${name} must be at most ${def.max}, not ${value}`)
  return n
}
