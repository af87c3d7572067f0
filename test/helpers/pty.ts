// Run pdsctl on a real terminal (a pty from util-linux `script`), to test what only
// happens when stdin and stdout are terminals: prompts, hidden input, tables.
import { spawn } from 'node:child_process'
import { BIN, CLI_NODE, cleanEnv } from './cli.js'

export interface PtySession {
  /** Everything the terminal showed so far (ANSI sequences stripped). */
  readonly screen: string
  /** The same, as sent (escape codes kept): to check colour. */
  readonly raw: string
  write(text: string): void
  /** Wait until the screen (after `from` characters) matches. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>
  /** Resolves with the exit code of pdsctl. */
  exited: Promise<number | null>
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r/g

export function runPty(args: string[], env: Record<string, string | undefined> = {}, opts: { columns?: number } = {}): PtySession {
  // `script` gives the pty no size unless asked: stty sets it, as a terminal window would.
  const size = opts.columns ? `stty cols ${opts.columns} rows 50 && exec ` : ''
  const cmd = size + [CLI_NODE, BIN, ...args].map(shellQuote).join(' ')
  const child = spawn('script', ['-qefc', cmd, '/dev/null'], {
    env: { ...cleanEnv(env), SHELL: '/bin/sh', TERM: 'xterm', COLUMNS: '200', LINES: '50' },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let screen = ''
  let raw = ''
  const listeners: Array<() => void> = []
  const onData = (d: Buffer) => {
    raw += d.toString('utf8')
    screen += d.toString('utf8').replace(ANSI, '')
    for (const l of listeners.splice(0)) l()
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return {
    get screen() {
      return screen
    },
    get raw() {
      return raw
    },
    write(text) {
      child.stdin.write(text)
    },
    async waitFor(re, timeoutMs = 15000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const m = re.exec(screen)
        if (m) return m[0]
        if (Date.now() > deadline) {
          child.kill('SIGKILL')
          throw new Error(`terminal never showed ${re}; it showed:\n${screen}`)
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, 200)
          listeners.push(() => {
            clearTimeout(t)
            r()
          })
        })
      }
    },
    exited,
  }
}
