// Typed errors thrown by src/lib. The base command maps each to one stderr line and
// a documented exit code; nothing in src/lib prints or exits.
import { redact } from './redaction.js'

/** The exit codes pdsctl documents (README, "Exit codes"). */
export const ExitCode = {
  OK: 0,
  /** The PDS, the network or a proxy failed (includes XRPC errors not listed below). */
  SERVER: 1,
  /** Bad input: a malformed flag or argument, conflicting flags, a missing flag when not interactive. */
  USAGE: 2,
  /** The PDS rejected the admin password (or an account's password / token). */
  AUTH: 3,
  /** The account, invite or other subject does not exist. */
  NOT_FOUND: 4,
  /** A batch ran and some of its items failed. */
  PARTIAL: 5,
  /** A health or diagnostic check reported a failure. */
  CHECK_FAILED: 6,
  /** kubectl could not set up the port-forward or read the Secret. */
  KUBE: 7,
  /** Interrupted by SIGINT (128 + 2). */
  INTERRUPTED: 130,
  /** Ended by SIGTERM (128 + 15), e.g. `timeout` in cron. */
  TERMINATED: 143,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface PdsctlErrorOptions {
  /** What the user can do about it; appended to the one-line message. */
  hint?: string
  cause?: unknown
}

export class PdsctlError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.SERVER
  readonly hint?: string
  /** The command already printed its result (a failed check, a partly failed batch): no JSON error object. */
  readonly reported: boolean = false
  constructor(message: string, opts: PdsctlErrorOptions = {}) {
    // Redacted when made: a message quoting a server (which may echo the Authorization
    // header) never holds a secret pdsctl knows, wherever it is shown or kept (a batch's
    // per-account errors, a check report, --json).
    super(redact(message), opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = new.target.name
    this.hint = opts.hint === undefined ? undefined : redact(opts.hint)
  }
  /** The one line shown to the user. */
  get line(): string {
    return this.hint ? `${this.message}. ${this.hint}` : this.message
  }
}

export class UsageError extends PdsctlError {
  override readonly exitCode = ExitCode.USAGE
}
/**
 * The user answered no to a confirmation: nothing was changed. Exit 2 as gh does (its
 * exitCancel), never 1, which means that the PDS or the network failed.
 */
export class CancelledError extends PdsctlError {
  override readonly exitCode = ExitCode.USAGE
  constructor(message = 'cancelled: nothing was changed') {
    super(message)
  }
}
export class AuthError extends PdsctlError {
  override readonly exitCode = ExitCode.AUTH
}
export class NotFoundError extends PdsctlError {
  override readonly exitCode = ExitCode.NOT_FOUND
}
export class NetworkError extends PdsctlError {
  override readonly exitCode = ExitCode.SERVER
}
export class KubeError extends PdsctlError {
  override readonly exitCode = ExitCode.KUBE
}
export class CheckFailedError extends PdsctlError {
  override readonly exitCode = ExitCode.CHECK_FAILED
  override readonly reported = true
}
export class PartialFailureError extends PdsctlError {
  override readonly exitCode = ExitCode.PARTIAL
  override readonly reported = true
}

/** The answer could not be trusted: HTML or text where JSON was due, a redirect, a missing field, too large. */
export class BadResponseError extends PdsctlError {
  override readonly exitCode = ExitCode.SERVER
}

/** SIGINT, SIGTERM, or an interrupted prompt (Ctrl-C, Ctrl-D). */
export class InterruptedError extends PdsctlError {
  override readonly exitCode: ExitCodeValue = ExitCode.INTERRUPTED
  constructor(readonly signal: 'SIGINT' | 'SIGTERM' | 'input' = 'SIGINT') {
    super('interrupted')
    this.exitCode = signal === 'SIGTERM' ? ExitCode.TERMINATED : ExitCode.INTERRUPTED
  }
}

/** An error answer from the PDS (or from something in front of it). */
export class XrpcError extends PdsctlError {
  override readonly exitCode: ExitCodeValue
  /** The XRPC error name (`error` field), when the server sent one (redacted). */
  readonly xrpcName: string | undefined
  /** The XRPC `message` field, when the server sent one (redacted). */
  readonly xrpcMessage: string | undefined
  constructor(
    readonly nsid: string,
    readonly status: number,
    xrpcName: string | undefined,
    xrpcMessage: string | undefined,
    opts: PdsctlErrorOptions & { exitCode?: ExitCodeValue; summary?: string } = {},
  ) {
    const detail = xrpcName ? `${xrpcName}${xrpcMessage ? `: ${xrpcMessage}` : ''}` : `HTTP ${status}`
    super(opts.summary ? `${opts.summary} (${detail})` : `${nsid} failed (${detail})`, opts)
    this.xrpcName = xrpcName === undefined ? undefined : redact(xrpcName)
    this.xrpcMessage = xrpcMessage === undefined ? undefined : redact(xrpcMessage)
    this.exitCode = opts.exitCode ?? ExitCode.SERVER
  }
}
