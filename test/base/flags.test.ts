// src/base/flags.ts and args.ts: the builders return oclif's own objects (what @oclif/core's
// builders return for the same options, `parse` included), plus how pdsctl's parser reads
// them; options pdsctl's parser does not implement are refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as OclifFlags from '@oclif/core/flags'
import * as OclifArgs from '@oclif/core/args'
import * as Flags from '../../src/base/flags.js'
import * as Args from '../../src/base/args.js'

type Obj = Record<string, unknown>
/** The fields of a definition, functions as their kind (a parse is a parse, whoever wrote it). */
const shape = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'function' ? 'function' : v]))

test("each builder returns what oclif's returns for the same options, plus valueKind (and multipleNonGreedy when repeatable)", () => {
  const cases: Array<[string, (o: Obj) => object, (o: Obj) => object, Obj[], Obj]> = [
    ['string', Flags.string as never, OclifFlags.string as never, [{}, { char: 'o', description: 'd', options: ['a', 'b'], default: 'a' }, { multiple: true, env: 'X', helpGroup: 'G' }], { valueKind: 'string' }],
    ['integer', Flags.integer as never, OclifFlags.integer as never, [{}, { min: 1, max: 9, default: 3, required: true }], { valueKind: 'integer' }],
    ['boolean', Flags.boolean as never, OclifFlags.boolean as never, [{}, { char: 'y', allowNo: true, exclusive: ['x'], dependsOn: ['z'], hidden: true }], {}],
  ]
  for (const [name, ours, theirs, optionSets, extra] of cases) {
    for (const options of optionSets) {
      const want = { ...shape(theirs(options)), ...extra, ...(options.multiple ? { multipleNonGreedy: true } : {}) }
      assert.deepEqual(shape(ours(options)), want, `${name}(${JSON.stringify(options)})`)
    }
  }
  assert.deepEqual(shape(Args.string({ description: 'd', required: true })), { ...shape(OclifArgs.string({ description: 'd', required: true })), ignoreStdin: true })
})

test("an integer flag's parse checks the number as oclif's does, in pdsctl's words", async () => {
  const def = { ...Flags.integer({ min: 1, max: 10 }), name: 'limit' } as never as { parse(i: string, c: unknown, f: unknown): Promise<unknown> }
  const theirs = { ...OclifFlags.integer({ min: 1, max: 10 }), name: 'limit' } as never as typeof def
  for (const input of ['1', '10', '0', '11', '-3', 'ten', '5x', '007']) {
    const a = await def.parse(input, {}, def).then((v) => ({ v }), () => 'error')
    const b = await theirs.parse(input, {}, theirs).then((v) => ({ v }), () => 'error')
    assert.deepEqual(a, b, input)
  }
  await assert.rejects(def.parse('0', {}, def), /--limit must be at least 1, not 0/)
})

test('options the parser does not implement are refused when the flag is defined', () => {
  assert.throws(() => Flags.string({ exactlyOne: ['a', 'b'] } as never), /does not implement the flag option exactlyOne/)
  assert.throws(() => Flags.boolean({ relationships: [] } as never), /relationships/)
  assert.throws(() => Flags.string({ parse: async (s: string) => s } as never), /parse/)
  assert.throws(() => Flags.string({ default: async () => 'x' } as never), /default \(a function\)/)
  assert.throws(() => Args.string({ multiple: true } as never), /does not implement the argument option multiple/)
})
