// Generated account passwords: 20 characters from a 56-symbol alphabet without
// look-alikes (0/O, 1/l/I), ~116 bits, from the OS's CSPRNG.

const ALPHABET = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'

export function generatePassword(length = 20): string {
  // node:crypto loaded here, when a password is made: it costs ~4.5 ms to load, and the
  // batch verbs that import this module mostly never call it.
  const { randomInt } = process.getBuiltinModule('node:crypto')
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHABET[randomInt(ALPHABET.length)]
  // Groups of 5 are easier to read out and to copy without error.
  return out.match(/.{1,5}/g)!.join('-')
}
