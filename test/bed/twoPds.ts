// Two real PDSes that share one PLC directory and one SMTP catcher: what an account
// migration needs (the DID document both read, the PLC token mailed by the old PDS).
// Either may run either line (0.5.x in process, 0.4.x as a Node 22 child). Each has its
// own handle domain (`.old.test`, `.new.test`), its own service DID (the audience of the
// service-auth token) and the same admin password, so one shell can drive both.
import { randomBytes } from 'node:crypto'
import { startTestBed, type PdsLine, type TestBed, type TestBedOptions } from './pds.js'

export interface TwoPdses {
  /** Where accounts start (handles under .old.test). */
  old: TestBed
  /** Where they move to (handles under .new.test). */
  new: TestBed
  plcUrl: string
  close(): Promise<void>
}

export interface TwoPdsOptions {
  /** Line of the old PDS (default 0.5). */
  from?: PdsLine
  /** Line of the new PDS (default 0.5). */
  to?: PdsLine
  /** More options for the new PDS (invites, rate limits, refusing imports). */
  newOptions?: TestBedOptions
  /** More options for the old PDS. */
  oldOptions?: TestBedOptions
}

export async function startTwoPdses(opts: TwoPdsOptions = {}): Promise<TwoPdses> {
  const adminPassword = 'admin-' + randomBytes(8).toString('hex')
  const shared = { adminPassword, plcByName: true, preferences: true }
  const old = await startTestBed({ line: opts.from, handleDomain: '.old.test', serviceDid: 'did:web:old.localhost', ...shared, ...opts.oldOptions })
  let next: TestBed
  try {
    next = await startTestBed({
      line: opts.to,
      handleDomain: '.new.test',
      ...shared,
      serviceDid: 'did:web:new.localhost',
      ...opts.newOptions,
      plcUrl: old.plcUrl,
      mail: old.mail,
    })
  } catch (err) {
    await old.close()
    throw err
  }
  return {
    old,
    new: next,
    plcUrl: old.plcUrl,
    // The new PDS first: the old one owns the PLC directory and the mail catcher.
    close: async () => {
      await next.close()
      await old.close()
    },
  }
}
