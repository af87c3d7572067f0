// npm run build:binary: pdsctl as one executable file that needs no Node.js on the
// machine (Node's single executable applications, https://nodejs.org/api/single-executable-applications.html).
//   dist/binary/pdsctl-linux-x64     (and pdsctl-linux-arm64: --arch x64,arm64, or PDSCTL_BINARY_ARCHES)
// 1. esbuild bundles src/sea/main.ts's entry with every command, what they load at run
//    time (@atproto/*, @inquirer/prompts, nodemailer, yaml, …), oclif for help and
//    completion, and the manifests and package.json files help reads, into one ES module
//    (dist/binary/pdsctl.mjs) that imports nothing but Node's builtins;
// 2. Node's own builder (`node --build-sea`, Node 25.5 and later) copies a node binary of
//    the same release from the npm registry's node-linux-<arch> package (scripts/fetch-node.sh)
//    and puts the bundle into it. Node 24 has only the older two-step way
//    (--experimental-sea-config, then postject): Node 26 builds in one step, without an npm
//    dependency, and is the Node inside (pdsctl claims >= 26 too).
// The binary's symbols and debug information are stripped first (strip, or llvm-strip for
// another architecture; kept when neither is installed): 150 MB -> 117 MB, the same code.
// Run after `npm run build` (dist/ and oclif.manifest.json); `npm run build:binary` does both.
import { build } from 'esbuild'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'

// The Node inside the executable (npm package node-linux-<arch>): its release must be the
// builder's too, so both come from here.
export const SEA_NODE_VERSION = '26.12.1'

const root = path.resolve(import.meta.dirname, '..')

// Run as a script (npm run build:binary); imported (a test reads SEA_NODE_VERSION), it builds nothing.
if (import.meta.filename === process.argv[1]) await main()

async function main() {
  const { values: opt } = parseArgs({
    options: {
      arch: { type: 'string', default: process.env.PDSCTL_BINARY_ARCHES ?? 'x64' },
      out: { type: 'string', default: path.join(root, 'dist', 'binary') },
    },
  })
  const arches = opt.arch.split(',').filter(Boolean)
  const hostArch = process.arch
  const out = path.resolve(opt.out)
  const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'))
  const log = (line) => process.stderr.write(`build:binary: ${line}\n`)

  if (!existsSync(path.join(root, 'oclif.manifest.json')) || !existsSync(path.join(root, 'dist', 'sea', 'main.js'))) {
    throw new Error('build:binary needs `npm run build` first (dist/ and oclif.manifest.json)')
  }

  // The packages built in: pdsctl and the oclif plugins its package.json lists, each with
  // its package.json (the fields oclif reads), its manifest, and an import of each command
  // module by the manifest's relativePath (as oclif itself finds a plugin's command).
  function bundledPackage(dir) {
    const pjson = readJson(path.join(dir, 'package.json'))
    const manifest = readJson(path.join(dir, 'oclif.manifest.json'))
    const { scripts, devDependencies, files, allowScripts, ...kept } = pjson
    const imports = Object.entries(manifest.commands).map(
      ([id, c]) => `${JSON.stringify(id)}: () => import(${JSON.stringify(path.join(dir, ...c.relativePath))})`,
    )
    return `{ pjson: ${JSON.stringify(kept)}, manifest: ${JSON.stringify(manifest)}, commands: { ${imports.join(', ')} } }`
  }
  const rootPjson = readJson(path.join(root, 'package.json'))
  const pluginDirs = (rootPjson.oclif.plugins ?? []).map((name) => path.join(root, 'node_modules', name))
  mkdirSync(out, { recursive: true })
  const entry = path.join(root, 'dist', 'sea', 'entry.mjs')
  writeFileSync(
    entry,
    `// Written by scripts/build-binary.mjs: what the single executable holds.\n` +
      `import { main } from './main.js'\n` +
      `await main({ root: ${bundledPackage(root)}, plugins: [${pluginDirs.map(bundledPackage).join(', ')}] })\n`,
  )

  const bundle = path.join(out, 'pdsctl.mjs')
  const result = await build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node26',
    // Whitespace and syntax only: names stay, so `--debug` stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    // The CommonJS packages inside (oclif, nodemailer, …) call require() for Node's builtins:
    // the executable's own require() loads builtins only, which is all they ask of it.
    banner: { js: "import { createRequire as __pdsctlCreateRequire } from 'node:module'; const require = __pdsctlCreateRequire(process.execPath);" },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  })
  const inputs = Object.keys(result.metafile.inputs)
  log(`bundle ${path.relative(root, bundle)}: ${(statSync(bundle).size / 1048576).toFixed(1)} MiB from ${inputs.length} files`)

  const fetchNode = (arch) => execFileSync('bash', [path.join(root, 'scripts', 'fetch-node.sh'), SEA_NODE_VERSION, arch], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
  const builder = fetchNode(hostArch)
  for (const arch of arches) {
    const target = path.join(out, `pdsctl-linux-${arch}`)
    const base = path.join(out, `.node-linux-${arch}`)
    copyFileSync(fetchNode(arch), base)
    const stripper = arch === hostArch ? ['strip', 'llvm-strip'] : ['llvm-strip']
    const stripped = stripper.find((tool) => spawnSync(tool, ['--strip-all', base], { stdio: 'ignore' }).status === 0)
    if (!stripped) log(`no strip tool for linux-${arch} (strip, llvm-strip): the binary keeps its symbols`)
    const config = path.join(out, `.sea-${arch}.json`)
    writeFileSync(
      config,
      JSON.stringify({
        main: bundle,
        mainFormat: 'module',
        executable: base,
        output: target,
        disableExperimentalSEAWarning: true,
        // V8's compiled code for the bundle, made by the builder: only for the builder's own
        // architecture (Node's documentation: a cache made for another one would crash it).
        useCodeCache: arch === hostArch,
        useSnapshot: false,
      }),
    )
    rmSync(target, { force: true })
    execFileSync(builder, ['--build-sea', config], { stdio: ['ignore', 'ignore', 'inherit'] })
    rmSync(base)
    rmSync(config)
    chmodSync(target, 0o755)
    log(`${path.relative(root, target)}: ${(statSync(target).size / 1048576).toFixed(1)} MiB (Node ${SEA_NODE_VERSION} linux-${arch}${stripped ? ', stripped' : ''})`)
  }
}
