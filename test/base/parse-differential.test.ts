// pdsctl's parser (src/base/parse.ts) against oclif's (`Parser.parse` from @oclif/core), on
// the same generated argv, for every command in oclif.manifest.json (a new command joins
// without an edit here) and for one made-up command with every kind of flag the builders
// allow: each flag in every form (`--f v`, `--f=v`, `--f=`, `-c v`, `-cv`, `-c=v`, repeated,
// missing its value, given a flag, `--`, `-`, a negative number or `a=b` as its value, bad
// and out-of-range values, `--no-` forms, booleans given values), unknown flags, missing and
// extra arguments, `--` and what follows it, and random mixtures of all these.
//
// Both must refuse the same argv, and read the same flags and arguments from the rest. A
// difference fails the test unless one of INTENDED explains it: the short list of places
// where pdsctl is stricter or plainer than oclif on purpose, each with its reason.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { isDeepStrictEqual } from 'node:util'
import { Parser } from '@oclif/core'
import * as Flags from '../../src/base/flags.js'
import * as Args from '../../src/base/args.js'
import { parseCommandLine, type ArgDefinition, type FlagDefinition } from '../../src/base/parse.js'
import { UsageError } from '../../src/lib/errors.js'
import { ROOT } from '../helpers/cli.js'

type Defs = Record<string, FlagDefinition & { name?: string }>
interface Subject {
  id: string
  flags: Defs
  args: Record<string, ArgDefinition>
  strict: boolean
}
type Outcome = { ok: true; flags: Record<string, unknown>; args: Record<string, unknown>; argv: string[] } | { ok: false; message: string }
interface Case {
  subject: Subject
  argv: string[]
  env?: Record<string, string>
}

/** The made-up command: every flag kind the builders allow, including those no command uses yet. */
const SYNTHETIC: Subject = {
  id: 'synthetic:every-kind',
  strict: true,
  flags: {
    json: Flags.boolean({}),
    yes: Flags.boolean({ char: 'y' }),
    quiet: Flags.boolean({ char: 'q', env: 'PDSCTL_DIFF_QUIET' }),
    relays: Flags.boolean({ allowNo: true, default: true }),
    pds: Flags.boolean({ allowNo: true, aliases: ['server'] }),
    output: Flags.string({ char: 'o', options: ['did', 'handle'] }),
    url: Flags.string({ aliases: ['pds-url'], charAliases: ['u'], env: 'PDSCTL_DIFF_URL' }),
    limit: Flags.integer({ min: 1, max: 1000 }),
    offset: Flags.integer({ min: -5 }),
    timeout: Flags.integer({ default: 30 }),
    status: Flags.string({ multiple: true, options: ['active', 'takendown'] }),
    tag: Flags.string({ multiple: true, char: 't' }),
    confirmed: Flags.boolean({ exclusive: ['unconfirmed'] }),
    unconfirmed: Flags.boolean({ exclusive: ['confirmed'] }),
    disable: Flags.boolean({}),
    'dry-run': Flags.boolean({ dependsOn: ['disable'] }),
    handle: Flags.string({ required: true }),
    secret: Flags.string({ hidden: true }),
  } as unknown as Defs,
  args: {
    account: Args.string({ description: 'The account.', required: true }),
    kind: Args.string({ description: 'The kind.', options: ['a', 'b'] }),
  } as unknown as Record<string, ArgDefinition>,
}

/** Every command of the manifest, as its class defines it (the source file, through tsx). */
async function manifestSubjects(): Promise<Subject[]> {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { relativePath: string[] }> }
  const subjects: Subject[] = []
  for (const [id, entry] of Object.entries(manifest.commands)) {
    const [dist, ...rest] = entry.relativePath
    assert.equal(dist, 'dist', id)
    const file = path.join(ROOT, 'src', ...rest).replace(/\.js$/, '.ts')
    const mod = (await import(pathToFileURL(file).href)) as { default: { baseFlags?: Defs; flags?: Defs; args?: Record<string, ArgDefinition>; strict?: boolean } }
    const C = mod.default
    subjects.push({ id, flags: { ...C.baseFlags, ...C.flags }, args: C.args ?? {}, strict: C.strict !== false })
  }
  return subjects
}

// ---------------------------------------------------------------- the two parsers

function ours(c: Case): Outcome {
  try {
    const r = parseCommandLine(c.argv, { flags: c.subject.flags, args: c.subject.args, strict: c.subject.strict, id: c.subject.id, bin: 'pdsctl' })
    return { ok: true, flags: defined(r.flags), args: defined(r.args), argv: r.argv }
  } catch (err) {
    if (err instanceof UsageError) return { ok: false, message: err.line }
    throw err
  }
}

async function theirs(c: Case): Promise<Outcome> {
  try {
    const r = await Parser.parse(c.argv, { flags: c.subject.flags as never, args: c.subject.args as never, strict: c.subject.strict })
    return { ok: true, flags: defined(r.flags), args: defined(r.args), argv: r.argv as string[] }
  } catch (err) {
    return { ok: false, message: (err as Error).message }
  }
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))

function same(c: Case, a: Outcome, b: Outcome): boolean {
  if (!a.ok || !b.ok) return a.ok === b.ok
  // The positional list is read only by commands that take any number of arguments.
  return isDeepStrictEqual(a.flags, b.flags) && isDeepStrictEqual(a.args, b.args) && (c.subject.strict || isDeepStrictEqual(a.argv, b.argv))
}
// ---------------------------------------------------------------- intended differences

/** The tokens read as flags (before the first `--`). */
const flagPart = (argv: string[]) => (argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv)
const booleanNames = (defs: Defs) =>
  Object.entries(defs)
    .filter(([, d]) => d.type === 'boolean')
    .flatMap(([n, d]) => [n, ...(d.aliases ?? [])].flatMap((l) => (d.allowNo ? [l, `no-${l}`] : [l])))
/** Whether a token names one of the flags (as oclif's findFlag reads it: the whole token, no `=value`). */
function namesFlag(defs: Defs, token: string): boolean {
  if (token.startsWith('--')) {
    const long = token.slice(2)
    return Object.entries(defs).some(([n, d]) => [n, ...(d.aliases ?? [])].some((l) => l === long || (d.type === 'boolean' && d.allowNo && `no-${l}` === long)))
  }
  return token.startsWith('-') && Object.values(defs).some((d) => d.char === token[1] || (d.charAliases ?? []).includes(token[1]))
}

export const INTENDED: Array<{ id: string; reason: string; explains(c: Case, a: Outcome, b: Outcome): boolean }> = [
  {
    id: 'boolean-given-a-value',
    reason:
      'pdsctl refuses a value given to a boolean (`--json=false`, `--yes=`): oclif reads `--json=false` as `--json false`, turning the flag ON and leaving `false` as an argument',
    explains: (c, a) =>
      !a.ok && / takes no value \(give /.test(a.message) && flagPart(c.argv).some((t) => t.includes('=') && booleanNames(c.subject.flags).includes(t.slice(2, t.indexOf('=')))),
  },
  {
    id: 'flag-or-dashdash-as-value',
    reason:
      'pdsctl refuses `--`, or a token that names one of the command\'s flags, where a value is due (`--url --`, `--url --json=1`): oclif takes `--` and a flag written with `=` as the value',
    explains: (c, a, b) => {
      if (a.ok || !b.ok) return false
      const m = /^--(\S+) needs a value/.exec(a.message)
      if (!m) return false
      const value = b.flags[m[1]]
      const values = Array.isArray(value) ? value : [value]
      // What oclif took: `--`, or a flag of the command with `=value` after it.
      return values.some((v) => v === '--' || (typeof v === 'string' && v.includes('=') && namesFlag(c.subject.flags, v.slice(0, v.indexOf('=')))))
    },
  },
  {
    id: 'attached-value-taken-as-given',
    reason:
      'a value attached to its flag (`--url=--json`, `-o--json`, `-o=-y`) is that value in pdsctl, whatever it looks like (the way to give a value that starts with -); oclif reads it again as a flag and refuses it',
    explains: (c, a, b) => {
      if (!a.ok || b.ok || !/^Flag --(\S+) expects (a value|one of these values)/.test(b.message)) return false
      const name = /^Flag --(\S+) expects/.exec(b.message)![1]
      const d = c.subject.flags[name]
      const attached = flagPart(c.argv).flatMap((t) => {
        for (const long of [name, ...(d.aliases ?? [])]) if (t.startsWith(`--${long}=`)) return [t.slice(long.length + 3)]
        for (const ch of [d.char, ...(d.charAliases ?? [])].filter(Boolean)) {
          const at = t.startsWith('--') ? -1 : t.indexOf(ch!)
          if (t.startsWith('-') && at > 0) return [t.slice(at + 1).replace(/^=/, '')]
        }
        return []
      })
      return attached.some((v) => namesFlag(c.subject.flags, v))
    },
  },
  {
    id: 'arguments-in-typed-order',
    reason:
      "a command that takes any number of arguments gets them in the order typed; oclif sorts its argv by each value's first place in the command line, so a repeated value (`a b a`) or one equal to an earlier flag's value moves",
    explains: (c, a, b) => {
      if (!a.ok || !b.ok || c.subject.strict || !isDeepStrictEqual(a.flags, b.flags) || !isDeepStrictEqual(a.args, b.args)) return false
      const sorted = [...a.argv].sort((x, y) => c.argv.indexOf(x) - c.argv.indexOf(y))
      return isDeepStrictEqual(sorted, b.argv)
    },
  },
]

// ---------------------------------------------------------------- the cases

/** A small seeded generator, so a failure is the same failure on every run. */
function random(seedText: string): () => number {
  let seed = [...seedText].reduce((h, ch) => Math.imul(h ^ ch.charCodeAt(0), 16777619), 2166136261) >>> 0
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0
    let t = seed
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

function goodValue(d: FlagDefinition, k = 0): string {
  if (d.options) return d.options[k % d.options.length]
  if (d.valueKind === 'integer') return String(Math.min(d.max ?? Infinity, Math.max(d.min ?? -Infinity, 3 + k)))
  return ['val', 'other', 'x y'][k % 3]
}

function badValues(d: FlagDefinition): string[] {
  const bad: string[] = []
  if (d.options) bad.push('not-an-option')
  if (d.valueKind === 'integer') {
    bad.push('ten', '5x', '1.5', '-4')
    if (d.min !== undefined) bad.push(String(d.min - 1))
    if (d.max !== undefined) bad.push(String(d.max + 1))
  }
  return bad
}

/** The ways one flag can be written: each a run of tokens. */
function flagForms(name: string, d: FlagDefinition, defs: Defs): string[][] {
  const otherBoolean = Object.entries(defs).find(([n, o]) => n !== name && o.type === 'boolean')?.[0] ?? 'json'
  const chars = [d.char, ...(d.charAliases ?? [])].filter((c): c is string => Boolean(c))
  const longs = [name, ...(d.aliases ?? [])]
  const forms: string[][] = []
  for (const long of longs) {
    if (d.type === 'boolean') {
      forms.push([`--${long}`], [`--${long}=true`], [`--${long}=false`], [`--${long}=`], [`--${long}`, 'true'], [`--no-${long}`], [`--no-${long}=1`], [`--${long}`, `--${long}`])
      forms.push([`--${long}`, `--no-${long}`], [`--no-${long}`, `--${long}`])
      continue
    }
    const v = goodValue(d)
    forms.push([`--${long}`, v], [`--${long}=${v}`], [`--${long}=`], [`--${long}`], [`--${long}`, '--'], [`--${long}`, '--', 'after'])
    forms.push([`--${long}`, `--${otherBoolean}`], [`--${long}`, `--${otherBoolean}=1`], [`--${long}=--${otherBoolean}`], [`--${long}=-x`], [`--${long}`, '--zzz'])
    forms.push([`--${long}`, '-'], [`--${long}`, '-5'], [`--${long}`, 'a=b'], [`--${long}=a=b`], [`--${long}`, ''], [`--${long}`, v, `--${long}`, goodValue(d, 1)])
    for (const bad of badValues(d)) forms.push([`--${long}`, bad], [`--${long}=${bad}`])
    if (d.multiple) forms.push([`--${long}`, v, 'extra-word'], [`--${long}`, v, `--${long}=${goodValue(d, 1)}`, `--${long}`, v])
  }
  for (const ch of chars) {
    if (d.type === 'boolean') {
      forms.push([`-${ch}`], [`-${ch}`, `-${ch}`], [`-${ch}=1`], [`-${ch}x`], [`-${ch}${ch}`])
      const other = Object.values(defs).find((o) => o !== d && o.type === 'boolean' && o.char)?.char
      if (other) forms.push([`-${ch}${other}`], [`-${other}${ch}`])
      const option = Object.values(defs).find((o) => o.type === 'option' && o.char)
      if (option) forms.push([`-${ch}${option.char}`, goodValue(option)], [`-${ch}${option.char}${goodValue(option)}`], [`-${ch}${option.char}=`])
      continue
    }
    const v = goodValue(d)
    forms.push([`-${ch}`, v], [`-${ch}${v}`], [`-${ch}=${v}`], [`-${ch}=`], [`-${ch}=`, 'next-word'], [`-${ch}`], [`-${ch}`, '--'], [`-${ch}--${otherBoolean}`], [`-${ch}=-x`], [`-${ch}`, '-'])
    forms.push([`-${ch}`, v, `--${name}`, v])
  }
  return forms
}

const UNKNOWN: string[][] = [['--bogus'], ['--bogus=1'], ['--bogus', 'word'], ['-Z'], ['--no-bogus'], ['--js'], ['---x'], ['--=x'], ['-'], ['-5'], ['--', '--bogus'], ['--help'], ['-h']]

function argValues(args: Record<string, ArgDefinition>): string[] {
  return Object.values(args).map((a, k) => (a.options ? a.options[0] : `arg${k + 1}`))
}

function casesFor(subject: Subject): Case[] {
  const cases: Case[] = []
  const add = (argv: string[], env?: Record<string, string>) => cases.push({ subject, argv, env })
  const defs = subject.flags
  const argv0 = argValues(subject.args)
  const required = Object.entries(defs).filter(([, d]) => d.required).flatMap(([n, d]) => [`--${n}`, goodValue(d)])
  const base = [...argv0, ...required]
  // Arguments: none, each count up to two extra, after --, values that look like flags.
  for (let n = 0; n <= argv0.length + 2; n++) {
    const words = [...argv0, 'extra1', 'extra2'].slice(0, n)
    add([...words, ...required])
    add([...required, '--', ...words])
  }
  for (const odd of ['-', '-5', 'a=b', '--json', '-y', '--']) add([...required, '--', ...argv0.slice(0, -1), odd])
  for (const odd of ['-', '-5', 'a=b', 'not-an-option', '']) add([odd, ...argv0.slice(1), ...required])
  // Every flag in every form, after the arguments and before them.
  for (const [name, d] of Object.entries(defs)) {
    for (const form of flagForms(name, d, defs)) {
      add([...base, ...form])
      add([...form, ...base])
    }
    if (d.env) {
      for (const value of d.type === 'boolean' ? ['1', 'yes', 'false', '0', 'maybe'] : [goodValue(d), ...badValues(d)]) {
        add(base, { [d.env]: value })
        if (d.type === 'option') add([...base, `--${name}`, goodValue(d, 1)], { [d.env]: value })
      }
    }
  }
  for (const form of UNKNOWN) add([...base, ...form])
  // Mixtures: a few fragments of all the above in a random order, sometimes with -- inside.
  const rnd = random(subject.id)
  const fragments = [...Object.entries(defs).flatMap(([n, d]) => flagForms(n, d, defs)), ...UNKNOWN, ...argv0.map((a) => [a]), ['extra'], ['-'], ['a=b']]
  const pick = <T,>(list: T[]) => list[Math.floor(rnd() * list.length)]
  for (let k = 0; k < 60; k++) {
    const parts: string[][] = [argv0, required]
    for (let m = 1 + Math.floor(rnd() * 4); m > 0; m--) parts.push(pick(fragments))
    for (let j = parts.length - 1; j > 0; j--) {
      const r = Math.floor(rnd() * (j + 1))
      ;[parts[j], parts[r]] = [parts[r], parts[j]]
    }
    const argv = parts.flat()
    if (rnd() < 0.2) argv.splice(Math.floor(rnd() * (argv.length + 1)), 0, '--')
    add(argv)
  }
  return cases
}

// ---------------------------------------------------------------- the test

test("pdsctl's parser reads every command line as oclif's does, but for the intended differences", async () => {
  const subjects = [...(await manifestSubjects()), SYNTHETIC]
  assert.ok(subjects.length > 40, `${subjects.length} commands in the manifest`)
  // No flag variable from the developer's shell.
  const envNames = subjects.flatMap((s) => Object.values(s.flags).map((d) => d.env)).filter((e): e is string => Boolean(e))
  const saved = Object.fromEntries(envNames.map((n) => [n, process.env[n]]))
  for (const n of envNames) delete process.env[n]
  const counts = new Map<string, number>(INTENDED.map((d) => [d.id, 0]))
  const unexplained: string[] = []
  let run = 0
  try {
    for (const subject of subjects) {
      for (const c of casesFor(subject)) {
        Object.assign(process.env, c.env ?? {})
        let a: Outcome
        let b: Outcome
        try {
          a = ours(c)
          b = await theirs(c)
        } finally {
          for (const n of Object.keys(c.env ?? {})) delete process.env[n]
        }
        run++
        if (same(c, a, b)) continue
        const why = INTENDED.find((d) => d.explains(c, a, b))
        if (why) counts.set(why.id, counts.get(why.id)! + 1)
        else unexplained.push(`${c.subject.id} ${JSON.stringify(c.argv)}${c.env ? ` env ${JSON.stringify(c.env)}` : ''}\n    pdsctl: ${JSON.stringify(a)}\n    oclif:  ${JSON.stringify(b)}`)
      }
    }
  } finally {
    for (const [n, v] of Object.entries(saved)) if (v !== undefined) process.env[n] = v
  }
  const differing = [...counts.values()].reduce((x, y) => x + y, 0)
  process.stdout.write(`# parser differential: ${run} cases over ${subjects.length - 1} commands and a made-up one with every flag kind; ${run - differing - unexplained.length} read alike, ${differing} differ as intended, ${unexplained.length} differ otherwise\n`)
  for (const d of INTENDED) process.stdout.write(`#   intended: ${d.id} (${counts.get(d.id)} cases): ${d.reason}\n`)
  assert.ok(run > 3000, `${run} cases`)
  assert.deepEqual(unexplained.slice(0, 15), [], `${unexplained.length} differences not on the intended list, the first 15 shown`)
})

test('-h is help everywhere: no command gives -h (or -v, --version) another meaning', async () => {
  for (const s of await manifestSubjects()) {
    for (const [name, d] of Object.entries(s.flags)) {
      assert.ok(![d.char, ...(d.charAliases ?? [])].includes('h'), `${s.id}: --${name} takes -h, which is help everywhere`)
      assert.ok(!['help', 'version'].includes(name), `${s.id}: --${name} belongs to the CLI`)
    }
  }
})
