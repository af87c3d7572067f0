// SMTP listeners on loopback for `pdsctl email test`: plain, STARTTLS and implicit TLS
// (a self-signed certificate for 127.0.0.1/localhost, made with openssl, trusted by the
// child through NODE_EXTRA_CA_CERTS), with or without auth, and a sender allow-list.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { SMTPServer, type SMTPServerOptions } from 'smtp-server'

export interface Received {
  from: string
  to: string[]
  raw: string
  user: string | null
}

export interface Listener {
  port: number
  received: Received[]
  /** AUTH attempts: user and whether the password matched (never the password). */
  logins: Array<{ user: string; ok: boolean }>
  close(): Promise<void>
}

export interface Cert {
  key: string
  cert: string
  /** The PEM file to put in NODE_EXTRA_CA_CERTS. */
  caFile: string
}

export function makeCert(): Cert {
  const dir = mkdtempSync(path.join(tmpdir(), 'smtp-cert-'))
  const key = path.join(dir, 'key.pem')
  const cert = path.join(dir, 'cert.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' })
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8'), caFile: cert }
}

export async function startListener(opts: {
  mode: 'plain' | 'starttls' | 'tls'
  cert?: Cert
  /** Require AUTH with this user and password. */
  auth?: { user: string; pass: string }
  /** Only these senders are allowed (MAIL FROM answered 553 otherwise). */
  allowedSenders?: string[]
}): Promise<Listener> {
  const received: Received[] = []
  const logins: Listener['logins'] = []
  const options: SMTPServerOptions = {
    logger: false,
    secure: opts.mode === 'tls',
    disabledCommands: [...(opts.mode === 'plain' ? ['STARTTLS'] : []), ...(opts.auth ? [] : ['AUTH'])],
    authOptional: !opts.auth,
    allowInsecureAuth: opts.mode === 'plain',
    ...(opts.cert ? { key: opts.cert.key, cert: opts.cert.cert } : {}),
    onAuth(auth, _session, cb) {
      const ok = !!opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass
      logins.push({ user: auth.username ?? '', ok })
      if (!ok) return cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }))
      cb(null, { user: auth.username })
    },
    onMailFrom(address, _session, cb) {
      if (opts.allowedSenders && !opts.allowedSenders.includes(address.address)) {
        return cb(Object.assign(new Error(`5.7.1 Sender address rejected: not owned by user`), { responseCode: 553 }))
      }
      cb()
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: (session.user as string | undefined) ?? null,
        })
        cb()
      })
    },
  }
  const server = new SMTPServer(options)
  server.on('error', () => {})
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const port = (server.server.address() as { port: number }).port
  return { port, received, logins, close: () => new Promise<void>((r) => server.close(() => r())) }
}
