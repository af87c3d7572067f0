import * as Flags from '../../base/flags.js'
import { BaseCommand } from '../../base/base-command.js'
import type { KeyType } from '../../lib/identity/keys.js'

/** `pdsctl identity generate-key --json`. */
export interface GenerateKeyResult {
  type: KeyType
  /** The public key: give it to `identity add-rotation-key --key`. */
  didKey: string
  /** Where the private key was written (mode 0600), or null when it went to stdout. */
  file: string | null
  /** The private key, only when it was not written to a file. */
  privateKeyHex?: string
}

export default class IdentityGenerateKey extends BaseCommand<typeof IdentityGenerateKey> {
  static override summary = 'Make a key pair for a rotation (recovery) key: the private key to a 0600 file or stdout once, the public did:key printed'
  static override description = `A secp256k1 key (or --type p256) from @atproto/crypto. With --output FILE the private key (64 hex characters, as PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX holds one) is written to a new file, mode 0600, created exclusively (an existing file or a symbolic link there is refused, nothing is generated) and stdout gets the public did:key; without --output the private key goes to stdout, once, and the did:key to stderr.
Keep the private key offline (a password manager, paper): whoever holds a rotation key can take the identity over. Add the public key with \`pdsctl identity add-rotation-key ACCOUNT --key did:key:…\`.
JSON: {type, didKey, file, privateKeyHex?} (privateKeyHex only without --output).`
  static override examples = [
    '<%= config.bin %> identity generate-key --output ~/alice-recovery.key',
    '<%= config.bin %> identity generate-key --type p256 --json',
  ]
  static override flags = {
    type: Flags.string({ description: 'The curve.', options: ['secp256k1', 'p256'], default: 'secp256k1' }),
    output: Flags.string({ char: 'o', description: 'Write the private key to this new file (mode 0600) instead of stdout.' }),
  }

  async run(): Promise<GenerateKeyResult> {
    const { generateKey } = await import('../../lib/identity/keys.js')
    const { writeNewSecretFile, checkNewFile } = await import('../../lib/identity/keyFile.js')
    const output = this.flags.output
    // Refused before a key exists: a key printed and then not written would be a key lost.
    if (output) await checkNewFile(output)
    const key = await generateKey(this.flags.type as KeyType)
    if (output) {
      await writeNewSecretFile(output, key.privateKeyHex + '\n')
      const result: GenerateKeyResult = { type: key.type, didKey: key.didKey, file: output }
      if (this.out.json) await this.out.printJson(result)
      else await this.out.line(key.didKey)
      this.out.status(`Wrote the private key to ${output} (mode 0600). Keep it offline; the public key is ${key.didKey}`)
      return result
    }
    const result: GenerateKeyResult = { type: key.type, didKey: key.didKey, file: null, privateKeyHex: key.privateKeyHex }
    if (this.out.json) await this.out.printJson(result)
    else await this.out.line(key.privateKeyHex)
    if (process.stdout.isTTY) this.out.warn('that is the private key, shown once: store it offline now; whoever holds it controls the identities it is added to')
    if (!this.out.json) this.out.status(`Public key: ${key.didKey}`)
    return result
  }
}
