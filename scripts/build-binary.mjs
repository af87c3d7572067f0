// npm run build:binary: pdsctl as one executable file that needs no Node.js on the
// machine (Node's single executable applications, https://nodejs.org/api/single-executable-applications.html).
//   dist/binary/pdsctl-linux-x64     (and pdsctl-linux-arm64: --arch x64,arm64, or PDSCTL_BINARY_ARCHES)
// 1. esbuild bundles src/sea/main.ts's entry with the manifests and package.json files help
//    reads into a small ES module (dist/binary/pdsctl.mjs, the executable's main script), and
//    each command, with what it loads at run time (@atproto/*, @inquirer/prompts, nodemailer,
//    yaml, …), into an asset of its own (dist/binary/.assets/), as is oclif for help and
//    completion (src/sea/oclif.ts): a run compiles the main script and the one command it
//    runs, as bin/run.js loads one command's bundle. None imports anything but Node's builtins;
// 2. Node's own builder (`node --build-sea`, Node 25.5 and later) copies a node binary of
//    the same release from the npm registry's node-linux-<arch> package (scripts/fetch-node.sh)
//    and puts the main script and the assets into it. Node 24 has only the older two-step way
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
  // its package.json (the fields oclif reads), its manifest, and a loader of each command
  // module (found by the manifest's relativePath, as oclif itself finds a plugin's command).
  // Each command is an asset of its own (below), compiled only when it runs.
  const assets = {}
  const assetDir = path.join(out, '.assets')
  rmSync(assetDir, { recursive: true, force: true })
  mkdirSync(assetDir, { recursive: true })
  function bundledPackage(dir) {
    const pjson = readJson(path.join(dir, 'package.json'))
    const manifest = readJson(path.join(dir, 'oclif.manifest.json'))
    const { scripts, devDependencies, files, allowScripts, ...kept } = pjson
    const imports = Object.entries(manifest.commands).map(([id, c]) => {
      const name = `${pjson.name}/${id}`
      assets[name] = path.join(dir, ...c.relativePath)
      return `${JSON.stringify(id)}: async () => load(${JSON.stringify(name)})`
    })
    return `{ pjson: ${JSON.stringify(kept)}, manifest: JSON.parse(${JSON.stringify(JSON.stringify(manifest))}), commands: { ${imports.join(', ')} } }`
  }
  const rootPjson = readJson(path.join(root, 'package.json'))
  const pluginDirs = (rootPjson.oclif.plugins ?? []).map((name) => path.join(root, 'node_modules', name))
  mkdirSync(out, { recursive: true })
  const entry = path.join(root, 'dist', 'sea', 'entry.mjs')
  const packages = `root: ${bundledPackage(root)}, plugins: [${pluginDirs.map(bundledPackage).join(', ')}]`
  assets.oclif = path.join(root, 'dist', 'sea', 'oclif.js')
  // An asset is run as the body of a function (exports, require, module), compiled with
  // vm.Script and V8's compiled code for it (made by the builder, Node's documented
  // cachedData: `<name>.v8cache`, for the builder's architecture only; V8 rejects a cache
  // that does not match and compiles the source).
  const WRAP_START = JSON.stringify('(function (exports, require, module) {')
  const WRAP_END = JSON.stringify('\n})')
  const CACHE_SUFFIX = '.v8cache'
  // The executable's main script is small: it answers --version and finds the command by
  // itself (src/sea/main.ts), then compiles only that command's code, an asset of the
  // executable (node:sea getAsset) bundled as a CommonJS function body and compiled with
  // vm.Script: Node's documented ways, since a SEA's import() loads only builtins.
  // Compiling the whole of pdsctl as one module cost ~200 ms of every run.
  writeFileSync(
    entry,
    `// Written by scripts/build-binary.mjs: what the single executable holds.\n` +
      `import { main } from './main.js'\n` +
      `const { getAsset } = process.getBuiltinModule('node:sea')\n` +
      `const { Script } = process.getBuiltinModule('node:vm')\n` +
      `const loaded = new Map()\n` +
      `function load(name) {\n` +
      `  if (!loaded.has(name)) {\n` +
      `    let cachedData\n` +
      `    try {\n` +
      `      cachedData = new Uint8Array(getAsset(\`\${name}${CACHE_SUFFIX}\`))\n` +
      `    } catch {}\n` +
      `    const script = new Script(${WRAP_START} + getAsset(name, 'utf8') + ${WRAP_END}, { filename: \`pdsctl:\${name}\`, cachedData })\n` +
      `    const module = { exports: {} }\n` +
      `    script.runInThisContext()(module.exports, require, module)\n` +
      `    loaded.set(name, module.exports)\n` +
      `  }\n` +
      `  return loaded.get(name)\n` +
      `}\n` +
      `await main({ ${packages}, oclif: async () => load('oclif') })\n`,
  )

  // The CommonJS packages inside (oclif, nodemailer, …) call require() for Node's builtins:
  // the executable's own require() loads builtins only, which is all they ask of it.
  const requireBanner = "import { createRequire as __pdsctlCreateRequire } from 'node:module'; const require = __pdsctlCreateRequire(process.execPath);"
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node26',
    // Whitespace and syntax only: names stay, so `--debug` stack traces still read.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  }
  const bundle = path.join(out, 'pdsctl.mjs')
  const result = await build({ ...common, entryPoints: [entry], outfile: bundle, format: 'esm', banner: { js: requireBanner } })
  // Each asset: one command (or src/sea/oclif.ts) with what it loads, as the body of a
  // CommonJS function (exports, require, module); its import()s of Node's builtins become
  // require() (no import() in code compiled by vm without a loader), its import()s of
  // bundled modules are bundled in (no chunks: the asset is all there is).
  const assetFiles = {}
  await Promise.all(
    Object.entries(assets).map(async ([name, file], i) => {
      const outfile = path.join(assetDir, `${i}.cjs`)
      assetFiles[name] = outfile
      await build({
        ...common,
        entryPoints: [file],
        outfile,
        format: 'cjs',
        supported: { 'dynamic-import': false },
        // pdsctl's one import.meta (src/base/command.ts, finding package.json) is not on the executable's path.
        logOverride: { 'empty-import-meta': 'silent' },
      })
    }),
  )
  const assetBytes = Object.values(assetFiles).reduce((n, f) => n + statSync(f).size, 0)
  log(`${Object.keys(assetFiles).length} assets (one a command, and oclif for help): ${(assetBytes / 1048576).toFixed(1)} MiB`)
  const inputs = Object.keys(result.metafile.inputs)
  log(`bundle ${path.relative(root, bundle)}: ${(statSync(bundle).size / 1048576).toFixed(1)} MiB from ${inputs.length} files`)

  const fetchNode = (arch) => execFileSync('bash', [path.join(root, 'scripts', 'fetch-node.sh'), SEA_NODE_VERSION, arch], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim()
  const builder = fetchNode(hostArch)
  // V8's code for each asset's top level, made by the Node inside (the same V8): compiling a
  // ~1 MiB command took ~12-40 ms, with its cache ~1-8 ms.
  const cacheFiles = {}
  for (const [name, file] of Object.entries(assetFiles)) cacheFiles[`${name}${CACHE_SUFFIX}`] = `${file}${CACHE_SUFFIX}`
  execFileSync(
    builder,
    [
      '-e',
      `const { Script } = require('node:vm'); const fs = require('node:fs')
       for (const [file, cache] of JSON.parse(process.argv[1])) {
         const script = new Script(${WRAP_START} + fs.readFileSync(file, 'utf8') + ${WRAP_END}, { filename: 'pdsctl' })
         fs.writeFileSync(cache, script.createCachedData())
       }`,
      JSON.stringify(Object.values(assetFiles).map((file) => [file, `${file}${CACHE_SUFFIX}`])),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  )
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
        // V8's compiled code for the main script, made by the builder: only for the builder's own
        // architecture (Node's documentation: a cache made for another one would crash it).
        useCodeCache: arch === hostArch,
        assets: arch === hostArch ? { ...assetFiles, ...cacheFiles } : assetFiles,
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
  rmSync(assetDir, { recursive: true })
}
