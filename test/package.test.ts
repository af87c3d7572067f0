// The package is real: `npm pack` gives a tarball that installs globally and runs from
// PATH, with the manifest inside and no tests or sources.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { ROOT } from './helpers/cli.js'

const run = promisify(execFile)

test('npm pack → npm install -g → pdsctl from PATH', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pdsctl-pack-'))
  // --ignore-scripts: dist/ is already built by `npm test`; prepack would rebuild it
  // under the feet of the other test files running at the same time.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT })
  const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>
  const files = packed.files.map((f) => f.path)
  assert.ok(files.includes('oclif.manifest.json'))
  assert.ok(files.includes('bin/run.js'))
  assert.ok(files.includes('bin/kubectl-pds.js'))
  assert.ok(files.includes('dist/commands/account/list.js'))
  assert.ok(!files.some((f) => f.startsWith('test/') || f.startsWith('src/') || f === 'bin/dev.js'), files.join(' '))
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'))

  const prefix = path.join(dir, 'prefix')
  await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, packed.filename)], {
    cwd: dir,
    maxBuffer: 16 * 1024 * 1024,
  })
  const env = { ...process.env, NO_COLOR: '1', PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}` }
  const version = await run('pdsctl', ['--version'], { env, cwd: dir })
  assert.match(version.stdout, new RegExp(`^pdsctl/${pkg.version.replace(/\./g, '\\.')} `))
  const help = await run('pdsctl', ['account', 'list', '--help'], { env, cwd: dir })
  assert.match(help.stdout, /List every account/)
  const typo = (await run('pdsctl', ['acount', 'list'], { env, cwd: dir }).catch((e: unknown) => e)) as { stderr: string; code: number }
  assert.equal(typo.code, 2)
  assert.equal(typo.stderr, 'Error: "acount list" is not a pdsctl command. Did you mean: pdsctl account list?\n')

  // The kubectl plugin is installed beside it, and kubectl finds it there.
  if (!['/usr/bin/kubectl', '/bin/kubectl'].some((p) => existsSync(p))) return
  const pluginEnv = { ...env, PATH: `${path.join(prefix, 'bin')}:${path.dirname(process.execPath)}:/usr/bin:/bin`, KUBECONFIG: path.join(dir, 'none') }
  const plugins = await run('kubectl', ['plugin', 'list'], { env: pluginEnv, cwd: dir })
  assert.ok(plugins.stdout.split('\n').includes(path.join(prefix, 'bin', 'kubectl-pds')), plugins.stdout)
  const pluginHelp = await run('kubectl', ['pds', 'account', 'list', '--help'], { env: pluginEnv, cwd: dir })
  assert.match(pluginHelp.stdout, /\nUsage:\n {2}kubectl pds account list \[options\]\n/)
})
