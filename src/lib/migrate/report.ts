// What `account migrate` says about a migration: each step done / to do / failed, the
// counts, where the DID document points and which side is active. The same shape is the
// `--status` answer, the `--dry-run` plan and the result of a run (`--json`).
import { PdsctlError, type ExitCodeValue, ExitCode } from '../errors.js'

export type StepId = 'account' | 'repo' | 'blobs' | 'preferences' | 'identity' | 'activate' | 'deactivate' | 'verify'
export type StepState = 'done' | 'todo' | 'waiting' | 'failed' | 'unknown'

export interface StepReport {
  id: StepId
  state: StepState
  /** What the step does (the plan), or what was found (status). */
  detail: string
  /** The step cannot be taken back by pdsctl alone (the PLC operation, deactivation). */
  irreversible: boolean
}

export type MigrationStatus =
  | 'not-started'
  | 'in-progress'
  | 'waiting-for-token'
  | 'waiting-for-did-web'
  | 'rate-limited'
  | 'failed'
  | 'unverified'
  | 'done'

export interface MigrationReport {
  did: string
  direction: 'in' | 'out'
  /** The old PDS and the new one, as pdsctl reaches them. */
  from: string
  to: string
  mode: 'status' | 'plan' | 'run'
  status: MigrationStatus
  handle: { old: string | null; new: string | null }
  steps: StepReport[]
  counts: {
    records: { old: number | null; new: number | null }
    blobs: { expected: number | null; imported: number | null; missing: number | null; unavailable: number; copied: number }
    /** Bytes copied in this run: the repository and the blobs. */
    bytes: number
  }
  identity: { pdsEndpoint: string | null; pointsAt: 'old' | 'new' | 'other' | 'unknown'; signingKey: string | null; handle: string | null }
  active: { old: boolean | null; new: boolean | null }
  /** Verification: what is off, and its fix. Empty when verified (or not yet checked). */
  problems: Array<{ problem: string; fix: string }>
  /** The command to continue with (null when done). */
  next: string | null
  /** How to go back from where things stand. */
  undo: string | null
  /** The new account's password, only in the run that generated it (shown once). */
  newPassword?: string
  /** Where pdsctl keeps what it needs to continue. */
  stateFile: string
}

export const STEP_ORDER: StepId[] = ['account', 'repo', 'blobs', 'preferences', 'identity', 'activate', 'deactivate', 'verify']

export const STEP_TITLES: Record<StepId, string> = {
  account: 'create the account on the new PDS (deactivated)',
  repo: 'copy the repository (getRepo → importRepo)',
  blobs: 'copy every blob (listMissingBlobs → getBlob → uploadBlob)',
  preferences: 'copy the preferences',
  identity: 'point the DID document at the new PDS (PLC operation)',
  activate: 'activate the account on the new PDS',
  deactivate: 'deactivate the account on the old PDS',
  verify: 'verify both PDSes and the DID document',
}

/**
 * A migration step failed: the report (with the step marked failed) is the result, and the
 * message says which step, what was done where, and how to continue or undo. Keeps the
 * cause's exit code (a rejected password or token stays 3, a refusal 1).
 */
export class MigrationFailedError extends PdsctlError {
  override readonly exitCode: ExitCodeValue
  override readonly reported = true
  constructor(
    message: string,
    readonly report: MigrationReport,
    opts: { hint?: string; cause?: unknown; exitCode?: ExitCodeValue },
  ) {
    super(message, opts)
    this.exitCode = opts.exitCode ?? ExitCode.SERVER
  }
}

/** The migration stopped without failing: a rate limit (exit 1, run again later). */
export class MigrationPausedError extends MigrationFailedError {}

/** Verification found problems (exit 6); the report lists each with its fix. */
export class MigrationCheckError extends MigrationFailedError {
  constructor(message: string, report: MigrationReport, hint?: string) {
    super(message, report, { hint, exitCode: ExitCode.CHECK_FAILED })
  }
}
