// `oclif manifest` lists commands in the order its parallel file walk finds them, which
// differs from build to build: sort the command ids so that a build leaves the tree clean.
// Only the order of commands changes; each command's own entry (flag order = help order)
// is kept as oclif wrote it.
import { readFileSync, writeFileSync } from 'node:fs'

const file = new URL('../oclif.manifest.json', import.meta.url)
const manifest = JSON.parse(readFileSync(file, 'utf8'))
const commands = Object.fromEntries(Object.keys(manifest.commands).sort().map((id) => [id, manifest.commands[id]]))
writeFileSync(file, JSON.stringify({ ...manifest, commands }, null, 2) + '\n')
