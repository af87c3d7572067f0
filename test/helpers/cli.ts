// Run pdsctl the two ways tests need: as a child process through bin/run.js (argv, env,
// stdin, exit code, stdout and stderr exactly as a user or script sees them), and in
// process through oclif's `run` (the typed result a command returns).
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Writable } from 'node:stream'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BIN = path.join(ROOT, 'bin/run.js')
/**
 * The Node that runs pdsctl in every test that spawns it: PDSCTL_NODE (a node binary), else
 * this test process's own. CI runs the CLI tests once more on Node 22 and once on Node 26
 * this way (scripts/run-tests.mjs --other-nodes) while the test runner and the bed's PDS stay on Node 24:
 * the 0.5.x PDS runs in the test process, on the Node its better-sqlite3 was built for.
 * Every spawn of bin/run.js takes this, never process.execPath (test/nodes.test.ts).
 */
export const CLI_NODE = process.env.PDSCTL_NODE || process.execPath
let cliNodeVersionCache: string | undefined
/** process.versions.node of CLI_NODE (e.g. '22.23.5'). */
export function cliNodeVersion(): string {
  cliNodeVersionCache ??= CLI_NODE === process.execPath ? process.versions.node : execFileSync(CLI_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()
  return cliNodeVersionCache
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** Extra environment (merged over a clean one: PATH, HOME and a temp config dir). */
  env?: Record<string, string | undefined>
  stdin?: string
  timeoutMs?: number
  cwd?: string
}

// Every temporary HOME made here is removed: by runCli as soon as its child has ended,
// and the rest (pty runs, in-process runs) when the test file's process exits.
const homes = new Set<string>()
process.once('exit', () => {
  for (const home of homes) rmSync(home, { recursive: true, force: true })
})
function removeHome(home: string | undefined): void {
  if (home && homes.delete(home)) rmSync(home, { recursive: true, force: true })
}

/** A clean environment: no PDS_* or KUBE* from the developer's shell leaks into a test. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const home = mkdtempSync(path.join(tmpdir(), 'pdsctl-home-'))
  homes.add(home)
  // A caller-given HOME wins: the temporary one is not needed.
  if (extra.HOME !== undefined) removeHome(home)
  const env: Record<string, string | undefined> = {
    // CLI_NODE first, so that bin/run.js run by its shebang (`env node`) runs on it too.
    PATH: process.env.PDSCTL_NODE ? `${path.dirname(CLI_NODE)}${path.delimiter}${process.env.PATH}` : process.env.PATH,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    ...extra,
  }
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined)) as Record<string, string>
}

/**
 * Write a child's whole stdin and close it. A child that ends (or closes stdin) before
 * reading it is the case's outcome, not the harness's error: its EPIPE is ignored (on a busy
 * machine pdsctl can finish before the harness writes).
 */
export function endStdin(child: { stdin: Writable | null }, text: string): void {
  child.stdin?.on('error', () => {})
  child.stdin?.end(text)
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const env = cleanEnv(opts.env)
  return new Promise((resolve, reject) => {
    const child = spawn(CLI_NODE, ['--', BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`pdsctl ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 30000} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 30000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (env.HOME !== opts.env?.HOME) removeHome(env.HOME)
      resolve({ code, signal, stdout, stderr })
    })
    endStdin(child, opts.stdin ?? '')
  })
}

export interface InProcessResult<T = unknown> extends CliResult {
  result?: T
}

/**
 * Run a command in this process (compiled dist/, as shipped). stdout/stderr are captured;
 * env overrides are applied for the duration only. Not safe to run two at once.
 */
export async function runInProcess<T = unknown>(args: string[], env: Record<string, string | undefined> = {}): Promise<InProcessResult<T>> {
  const { run } = await import('@oclif/core')
  const saved = { ...process.env }
  const clean = cleanEnv(env)
  for (const k of Object.keys(process.env)) if (/^(PDS_|PDSCTL_|KUBE)/.test(k)) delete process.env[k]
  Object.assign(process.env, clean)
  let stdout = ''
  let stderr = ''
  const outWrite = process.stdout.write.bind(process.stdout)
  const errWrite = process.stderr.write.bind(process.stderr)
  // pdsctl writes strings; the test runner's own reporting (binary frames when run under
  // `node --test`) passes through untouched.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' ? ((stdout += chunk), true) : outWrite(chunk, ...rest)) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' ? ((stderr += chunk), true) : errWrite(chunk, ...rest)) as typeof process.stderr.write
  let code = 0
  let result: T | undefined
  try {
    result = (await run(args, path.join(ROOT, 'package.json'))) as T
  } catch (err) {
    const e = err as { oclif?: { exit?: number } }
    code = e.oclif?.exit ?? 1
  } finally {
    process.stdout.write = outWrite
    process.stderr.write = errWrite
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
    Object.assign(process.env, saved)
  }
  return { code, signal: null, stdout, stderr, result }
}

/** The admin-password environment for a test bed. */
export function bedEnv(bed: { url: string; adminPassword: string }, extra: Record<string, string | undefined> = {}) {
  return { PDS_URL: bed.url, PDS_ADMIN_PASSWORD: bed.adminPassword, ...extra }
}
