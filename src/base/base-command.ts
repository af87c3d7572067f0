// The base commands. BaseCommand owns output (--json, table vs TSV), prompts policy,
// errors (one stderr line + a documented exit code) and signals. PdsCommand adds the
// connection: where the PDS is (URL or Kubernetes port-forward) and who we are (the
// admin password), resolved once from flags, environment, env file and saved context.
// No oclif at run time (src/base/command.ts): flags and arguments are parsed by
// src/base/parse.ts; oclif's types only give each command its flag types.
import type { Interfaces } from '@oclif/core'
import { Command, type CommandClass } from './command.js'
import * as Flags from './flags.js'
import { CONNECTION_FLAGS, OUTPUT_FLAGS } from './global-flags.js'
import { parseCommandLine, type ArgDefinition, type FlagDefinition } from './parse.js'
import { CancelledError, CheckFailedError, ExitCode, InterruptedError, PdsctlError, UsageError, XrpcError, type ExitCodeValue } from '../lib/errors.js'
import { Output, stderrLine, type OutputMode } from '../lib/cli/output.js'
import { cellLines, jsonSafe, terminalBlock } from '../lib/cli/terminalText.js'
import { redact, redactDeep, registerBasicAuth, registerEnvSecrets } from '../lib/redaction.js'
// The connection's modules are static imports: every PDS command needs them before its
// first request, and four dynamic imports cost ~2 ms more than the same code in the
// command's bundle (dist/run/<command>/main.js).
import { resolveConnection, type ConnectionSettings, type SavedContext } from '../lib/cli/settings.js'
import { loadContext } from '../lib/cli/contexts.js'
import { PdsClient } from '../lib/pds/xrpcClient.js'
import { directTarget, type Target } from '../lib/pds/target.js'
import { useProxyEnvironment } from '../lib/pds/proxy.js'

export type BaseFlags<T extends CommandClass> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type PdsFlags<T extends CommandClass> = Interfaces.InferredFlags<(typeof PdsCommand)['baseFlags'] & T['flags']>
export type Args<T extends CommandClass> = Interfaces.InferredArgs<T['args']>

/**
 * Whether stdout is a terminal, without making process.stdout (~2 ms) or loading node:tty
 * (~2 ms) when fstat already says it is a file, a pipe or a socket.
 */
function stdoutIsTerminal(): boolean {
  try {
    if (!process.getBuiltinModule('node:fs').fstatSync(1).isCharacterDevice()) return false
  } catch {
    // No fd 1 to look at: let the stream decide.
  }
  return Boolean(process.stdout.isTTY)
}

export abstract class BaseCommand<T extends CommandClass> extends Command {
  static override baseFlags = OUTPUT_FLAGS

  protected flags!: BaseFlags<T>
  protected args!: Args<T>
  /** Every positional argument, for commands with `strict = false` (a list of codes). */
  protected positionals: string[] = []
  protected out!: Output
  /** Aborted on SIGINT/SIGTERM: every request in flight ends at once. */
  protected readonly interruption = new AbortController()
  private cleanups: Array<() => Promise<void>> = []
  private stdinUsedFor?: string

  override async init(): Promise<void> {
    await super.init()
    // The secret PDS_* values of the environment are known from the start: no error, debug
    // line or child process (kubectl) ever gets them (src/lib/redaction.ts).
    registerEnvSecrets(process.env)
    // Decide the output mode before parsing, so a parse error under --json is JSON too.
    const dashdash = this.argv.indexOf('--')
    const tty = stdoutIsTerminal() || process.env.PDSCTL_FORCE_TTY === '1'
    this.out = this.makeOutput((dashdash === -1 ? this.argv : this.argv.slice(0, dashdash)).includes('--json'), tty)
    const { args, flags, argv } = parseCommandLine(this.argv, {
      flags: { ...this.ctor.baseFlags, ...this.ctor.flags } as Record<string, FlagDefinition>,
      args: this.ctor.args as Record<string, ArgDefinition>,
      strict: this.ctor.strict,
      id: this.id,
      bin: this.config.bin,
    })
    this.flags = flags as BaseFlags<T>
    this.args = args as Args<T>
    this.positionals = argv as string[]
    this.out = this.makeOutput(Boolean(flags.json), tty)
    // HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY (and lower case) for every request pdsctl makes.
    useProxyEnvironment(process.env)
    process.on('SIGINT', () => void this.onSignal('SIGINT'))
    process.on('SIGTERM', () => void this.onSignal('SIGTERM'))
    // Once interrupted, work left in flight (a prefetched page, a pool's other requests)
    // rejects with InterruptedError while onSignal is stopping: that is not a crash.
    process.on('unhandledRejection', (reason) => {
      if (this.signalled || reason instanceof InterruptedError) return
      throw reason
    })
    if (process.env.NODE_TLS_REJECT_UNAUTHORIZED === '0') {
      // Node would turn certificate checks off for every connection (and the admin
      // password would go to whoever answers). pdsctl passes rejectUnauthorized itself;
      // removing the variable also spares Node's own misleading warning.
      delete process.env.NODE_TLS_REJECT_UNAUTHORIZED
      this.out.warn('NODE_TLS_REJECT_UNAUTHORIZED=0 is ignored: pdsctl always verifies TLS (set NODE_EXTRA_CA_CERTS for a private CA)')
    }
  }

  private makeOutput(json: boolean, tty: boolean): Output {
    const mode: OutputMode = json ? 'json' : tty ? 'table' : 'tsv'
    // The streams are taken when first written to (getters), not here: making process.stdout
    // costs ~2 ms, which a command's first request need not wait for.
    return new Output({
      mode,
      get stdout() {
        return process.stdout
      },
      get stderr() {
        return process.stderr
      },
    })
  }

  /** Prompts only when both ends are terminals and neither --json nor --no-input is set. */
  protected get interactive(): boolean {
    return Boolean(process.stdin.isTTY && process.stdout.isTTY) && !this.flags?.json && !this.flags?.['no-input']
  }

  /** Ask for a secret on the terminal (hidden), or fail naming the flag to use instead. */
  protected async promptSecret(message: string, flagHint: string): Promise<string> {
    if (!this.interactive) {
      throw new UsageError(`${message.replace(/:$/, '')} is needed and pdsctl is not running interactively`, { hint: flagHint })
    }
    const { password } = await import('@inquirer/prompts')
    const value = await password({ message, mask: false }, { signal: this.interruption.signal })
    if (!value) throw new UsageError(`no ${message.replace(/:$/, '').toLowerCase()} given`)
    return value
  }

  protected async promptText(message: string, flagHint: string): Promise<string> {
    if (!this.interactive) throw new UsageError(`${message.replace(/:$/, '')} is needed and pdsctl is not running interactively`, { hint: flagHint })
    const { input } = await import('@inquirer/prompts')
    return (await input({ message }, { signal: this.interruption.signal })).trim()
  }

  /** Destructive verbs: ask on a terminal, else require --yes. */
  protected async confirmOrYes(question: string, yes: boolean | undefined): Promise<void> {
    if (yes) return
    if (!this.interactive) throw new UsageError('--yes is required when not running interactively', { hint: `Re-run with --yes to ${question.replace(/\?$/, '').toLowerCase()}` })
    const { confirm } = await import('@inquirer/prompts')
    if (!(await confirm({ message: question, default: false }, { signal: this.interruption.signal }))) {
      // Declined: "cancelled" (exit 2, as gh), never 1, which means the PDS or the network failed.
      throw new CancelledError()
    }
  }

  /** Read all of stdin (for --*-stdin flags); one reader per run. Strips one trailing newline. */
  protected async readStdin(what: string): Promise<string> {
    if (this.stdinUsedFor) {
      throw new UsageError(`stdin is already used for ${this.stdinUsedFor}; cannot also read ${what} from it`)
    }
    this.stdinUsedFor = what
    if (process.stdin.isTTY) this.out.status(`Reading ${what} from stdin (end with Ctrl-D)…`)
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  }

  /**
   * Print a check report (doctor, handle check): JSON, or a STATUS / CHECK / RESULT table
   * with each fix; then fail with exit 6 when any check failed.
   */
  protected async reportChecks<R extends { checks: Array<{ id: string; status: string; message: string; fix?: string }> }>(
    report: R,
    failure: (failedIds: string[]) => string,
  ): Promise<R> {
    if (this.out.json) await this.out.printJson(report)
    else {
      await this.out.printTable(report.checks, [
        { header: 'STATUS', value: (c) => c.status.toUpperCase(), shrink: 'none' },
        { header: 'CHECK', value: (c) => c.id, shrink: 'none' },
        // The fix on its own line on a terminal, so wrapping never strands ". Fix:" (piped, the
        // line break becomes a space: "message. Fix: …" as before).
        { header: 'RESULT', value: (c) => (c.fix ? cellLines(`${c.message}.`, `Fix: ${c.fix}`) : c.message), shrink: 'wrap' },
      ])
    }
    const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.id)
    if (failed.length) throw new CheckFailedError(failure(failed))
    return report
  }

  /** Register something to undo when the command ends, however it ends. */
  protected onCleanup(fn: () => Promise<void>): void {
    this.cleanups.push(fn)
  }

  private async runCleanups(): Promise<void> {
    const fns = this.cleanups.splice(0).reverse()
    for (const fn of fns) await fn().catch(() => {})
  }

  /** Set by commands whose normal end is Ctrl-C (e.g. `kube forward`): exit with this instead of 130/143. */
  protected exitCodeOnSignal?: number

  private signalled = false

  /**
   * SIGINT/SIGTERM: abort every request in flight, stop kubectl, exit 130/143 within a
   * second whatever is still pending. A second signal exits at once.
   */
  private async onSignal(signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
    const code = this.exitCodeOnSignal ?? (signal === 'SIGINT' ? ExitCode.INTERRUPTED : ExitCode.TERMINATED)
    if (this.signalled) process.exit(code)
    this.signalled = true
    // Whatever the command was doing ends now, and prints nothing it did not finish.
    this.out?.silence()
    this.interruption.abort(new InterruptedError(signal))
    setTimeout(() => process.exit(code), 800)
    await this.runCleanups()
    process.exit(code)
  }

  protected debugLog = (line: string): void => {
    // kubectl's stderr and server-derived text pass here too: redacted, then escaped.
    if (this.flags?.debug) process.stderr.write(`debug: ${stderrLine(line)}\n`)
  }

  override async catch(err: Error): Promise<never> {
    // Interrupted: onSignal is stopping kubectl and exits with 130/143 in a moment.
    if (this.signalled) return new Promise<never>(() => {})
    const { line, exitCode, json } = describeError(err)
    // Whatever the error quotes (a server's message, kubectl's words) is redacted and
    // escaped here, for every command: one line, no secret, no control character.
    if (this.flags?.debug && err.stack) process.stderr.write(terminalBlock(redact(err.stack)) + '\n')
    process.stderr.write(`Error: ${stderrLine(line)}\n`)
    // A failed check or a partly failed batch has already printed its report as the JSON
    // result, and a listing cut short has closed its array: stdout stays one JSON document.
    if (this.out?.json && !(err instanceof PdsctlError && err.reported) && !this.out.wroteDocument) {
      process.stdout.write(jsonSafe(JSON.stringify({ error: redactDeep({ ...json, exitCode }) }, null, 2)) + '\n')
    }
    await this.runCleanups()
    const quiet = Object.assign(new Error(line), { skipOclifErrorHandling: true, oclif: { exit: exitCode } })
    throw quiet
  }

  override async finally(err: Error | undefined): Promise<void> {
    await this.runCleanups()
    await super.finally(err)
  }
}

export function describeError(err: Error): {
  line: string
  exitCode: ExitCodeValue
  json: Record<string, unknown>
} {
  if (err instanceof PdsctlError) {
    const json: Record<string, unknown> = { name: err.name, message: err.line }
    if (err instanceof XrpcError) Object.assign(json, { xrpcError: err.xrpcName ?? null, xrpcMessage: err.xrpcMessage ?? null, status: err.status })
    return { line: err.line, exitCode: err.exitCode, json }
  }
  if (err.name === 'ExitPromptError' || err.name === 'AbortPromptError') {
    // Ctrl-C at a prompt (inquirer), or a prompt aborted by SIGTERM.
    const cause = (err as { cause?: unknown }).cause
    const exitCode = cause instanceof InterruptedError ? cause.exitCode : ExitCode.INTERRUPTED
    return { line: 'interrupted', exitCode, json: { name: 'Interrupted', message: 'interrupted' } }
  }
  const line = `internal error: ${err.message} (run with --debug for details)`
  return { line, exitCode: ExitCode.SERVER, json: { name: 'InternalError', message: err.message } }
}

/** `--kube-deployment`, for the commands that act on the PDS's Deployment. */
export const kubeDeploymentFlag = Flags.string({
  description: 'The PDS Deployment (default: the Service\'s name, else found by the Service\'s selector).',
  helpGroup: 'KUBERNETES',
})

export abstract class PdsCommand<T extends CommandClass> extends BaseCommand<T> {
  static override baseFlags = { ...BaseCommand.baseFlags, ...CONNECTION_FLAGS }

  protected declare flags: PdsFlags<T>
  private settingsPromise?: Promise<ConnectionSettings>
  private clientPromise?: Promise<PdsClient>
  private adminPasswordPromise?: Promise<string>

  /** The resolved connection settings (flags > environment > env file > context > defaults). */
  protected settings(): Promise<ConnectionSettings> {
    this.settingsPromise ??= (async () => {
      const context = await this.savedContext()
      const settings = await resolveConnection(this.flags, process.env, context)
      if (settings.kube?.find) await this.findInCluster(settings)
      return settings
    })()
    return this.settingsPromise
  }

  /** Why the admin password was not found in the cluster (--kube), for the missing-password hint. */
  private kubeSecretWhy?: string

  /**
   * --kube (and so `kubectl pds`): the Service, the Deployment and the Secret the Deployment
   * reads the admin password from, from one kubectl get. The password itself is read only
   * when a command needs it, and only when no other source gives it.
   */
  private async findInCluster(settings: ConnectionSettings): Promise<void> {
    const k = settings.kube!
    const { findPds } = await import('../lib/k8s/discover.js')
    const found = await findPds({ kubectl: k.kubectl, context: k.context, namespace: k.namespace, env: process.env, onDebug: this.debugLog, service: k.service, pod: k.pod }, settings.timeoutMs)
    if (!k.service && !k.pod) {
      k.service = found.service
      if (this.flags['kube-port'] === undefined) k.port = found.port
      this.out.status(`Found the PDS: svc/${found.service}${k.namespace ? ` in ${k.namespace}` : ''} (${found.how}).`)
    }
    k.deployment ??= found.deployment ?? undefined
    if (settings.adminPassword.kind === 'prompt' && found.adminSecret) settings.adminPassword = { kind: 'kube-secret', ...found.adminSecret }
    this.kubeSecretWhy = found.adminSecret ? undefined : found.secretWhy
    this.debugLog(`admin password: ${found.secretWhy}`)
  }

  protected async savedContext(): Promise<SavedContext | undefined> {
    const name = this.flags.context ?? process.env.PDSCTL_CONTEXT
    return loadContext(this.config.configDir, name)
  }

  /** The client, with the target set up (a port-forward is started here, once per command). */
  protected client(): Promise<PdsClient> {
    this.clientPromise ??= (async () => {
      const settings = await this.settings()
      const target = await this.makeTarget(settings)
      this.onCleanup(() => target.dispose())
      const client = new PdsClient({
        target,
        adminPassword: () => this.adminPassword(),
        timeoutMs: settings.timeoutMs,
        signal: this.interruption.signal,
        maxResponseBytes: settings.maxResponseBytes,
        // Only with --debug: the client builds its debug lines only for a listener.
        debug: this.flags?.debug ? this.debugLog : undefined,
        userAgent: `pdsctl/${this.config.version}`,
      })
      this.onCleanup(() => client.close())
      return client
    })()
    return this.clientPromise
  }

  /** A client for another host (a relay, the public URL): it is never given any credential. */
  protected async anonymousClient(url: string, role = 'the server'): Promise<PdsClient> {
    const settings = await this.settings()
    const client = new PdsClient({
      target: directTarget(url),
      timeoutMs: settings.timeoutMs,
      signal: this.interruption.signal,
      maxResponseBytes: settings.maxResponseBytes,
      debug: this.flags?.debug ? this.debugLog : undefined,
      userAgent: `pdsctl/${this.config.version}`,
      role,
    })
    this.onCleanup(() => client.close())
    return client
  }

  private async makeTarget(settings: ConnectionSettings): Promise<Target> {
    if (settings.kube) {
      const { createKubeTarget } = await import('../lib/k8s/kubeTarget.js')
      this.out.status(`Starting kubectl port-forward to ${settings.kube.pod ? `pod/${settings.kube.pod}` : `svc/${settings.kube.service}`}…`)
      const { timeoutS, ...kube } = settings.kube
      return createKubeTarget({
        ...kube,
        env: process.env,
        onDebug: this.debugLog,
        // A little longer than kubectl's own wait, so that its message is the one shown.
        readyTimeoutMs: (timeoutS ?? 30) * 1000 + 5000,
        podRunningTimeout: timeoutS ? `${timeoutS}s` : undefined,
      })
    }
    if (!settings.url) {
      throw new UsageError('no PDS given', {
        hint: 'Pass --url https://your.pds, set PDS_URL (or PDS_HOSTNAME), use --env-file /pds/pds.env, the --kube-* flags, or a saved --context',
      })
    }
    return directTarget(settings.url)
  }

  /**
   * One key of a Kubernetes Secret in the namespace/context the connection names (kubectl
   * get secret; the value never in argv or debug output). Default key: adminPassword.
   */
  protected async readSecretKey(name: string, key?: string): Promise<string> {
    const settings = await this.settings()
    const { readKubeSecret } = await import('../lib/k8s/secret.js')
    return readKubeSecret({
      namespace: settings.kube?.namespace,
      context: settings.kube?.context,
      kubectl: settings.kube?.kubectl,
      name,
      key,
      env: process.env,
      onDebug: this.debugLog,
    })
  }

  /**
   * Where `k8s status` / `k8s upgrade` work: the connection's Kubernetes location plus the
   * Deployment (--kube-deployment), as the access the kubectl runs of src/lib/k8s take.
   */
  protected async kubeWorkload(command: string, deployment: string | undefined) {
    const settings = await this.settings()
    if (!settings.kube) {
      throw new UsageError(`${command} needs the PDS's Kubernetes location`, {
        hint: 'Pass --kube-namespace NS --kube-service NAME (or --kube-pod), or a saved --context with a Kubernetes target',
      })
    }
    if (deployment !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(deployment)) {
      throw new UsageError(`--kube-deployment "${deployment}" is not a Kubernetes name`)
    }
    const k = settings.kube
    return {
      kubectl: k.kubectl,
      context: k.context,
      namespace: k.namespace,
      env: process.env,
      onDebug: this.debugLog,
      signal: this.interruption.signal,
      deployment: deployment ?? k.deployment,
      service: k.service,
      pod: k.pod,
      port: k.port,
    }
  }

  /** The admin password, from the first source that has it; prompts last. Never logged. */
  protected adminPassword(): Promise<string> {
    this.adminPasswordPromise ??= (async () => {
      const settings = await this.settings()
      if (settings.adminPasswordRefusal) throw settings.adminPasswordRefusal
      const src = settings.adminPassword
      switch (src.kind) {
        case 'value':
          registerBasicAuth('admin', src.value)
          return src.value
        case 'stdin': {
          const pw = await this.readStdin('the admin password')
          if (!pw) throw new UsageError('--admin-password-stdin was given but stdin was empty')
          registerBasicAuth('admin', pw)
          return pw
        }
        case 'kube-secret': {
          const pw = await this.readSecretKey(src.name, src.key)
          registerBasicAuth('admin', pw)
          return pw
        }
        case 'prompt': {
          const pw = await this.promptSecret('Admin password:', `${this.kubeSecretWhy ? `${this.kubeSecretWhy}: ` : ''}Set PDS_ADMIN_PASSWORD, pass --env-file, --admin-password-stdin or --kube-secret`)
          registerBasicAuth('admin', pw)
          return pw
        }
      }
    })()
    return this.adminPasswordPromise
  }
}
