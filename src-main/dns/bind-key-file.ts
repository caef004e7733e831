/**
 * TSIG keys from BIND-style key files, as `tsig-keygen` (and `ddns-confgen`, `rndc-confgen -a`) write them:
 *
 *     key "kms-publish" {
 *         algorithm hmac-sha256;
 *         secret "base64…";
 *     };
 *
 * The file is named.conf syntax, so comments (`#`, `//`, `/* … *\/`) and several key statements are allowed; any
 * other statement is refused (a whole named.conf is not a key file). Pure: the caller reads the file.
 */
import { Buffer } from 'node:buffer'
import { tsigAlgorithmFromName, TSIG_ALGORITHM_NAMES, type TsigKey } from './tsig'

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError'
}

type Token = { readonly kind: 'word' | 'string' | 'punct'; readonly text: string; readonly line: number }

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let line = 1
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === '\n') {
      line++
      i++
    } else if (/\s/.test(c)) i++
    else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      if (end < 0) throw new KeyFileError(`line ${line}: a /* comment is never closed`)
      line += text.slice(i, end).split('\n').length - 1
      i = end + 2
    } else if (c === '"') {
      const end = text.indexOf('"', i + 1)
      if (end < 0) throw new KeyFileError(`line ${line}: a quoted string is never closed`)
      tokens.push({ kind: 'string', text: text.slice(i + 1, end), line })
      line += text.slice(i, end).split('\n').length - 1
      i = end + 1
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: 'punct', text: c, line })
      i++
    } else {
      let j = i
      while (j < text.length && !/[\s{};"#]/.test(text[j]!)) j++
      tokens.push({ kind: 'word', text: text.slice(i, j), line })
      i = j
    }
  }
  return tokens
}

/** Every key statement of a key file, in file order. Throws {@link KeyFileError} saying what and where. */
export function parseBindKeyFile(text: string): TsigKey[] {
  const tokens = tokenize(text)
  let pos = 0
  const peek = (): Token | undefined => tokens[pos]
  const take = (what: string): Token => {
    const t = tokens[pos++]
    if (t === undefined) throw new KeyFileError(`the file ends where ${what} was expected`)
    return t
  }
  const expect = (punct: string): void => {
    const t = take(`"${punct}"`)
    if (t.kind !== 'punct' || t.text !== punct) throw new KeyFileError(`line ${t.line}: expected "${punct}", found "${t.text}"`)
  }

  const keys: TsigKey[] = []
  while (peek() !== undefined) {
    const statement = take('a key statement')
    if (statement.kind !== 'word' || statement.text.toLowerCase() !== 'key') {
      throw new KeyFileError(
        `line ${statement.line}: "${statement.text.slice(0, 40)}" is not a key statement (a key file holds only key { … }; statements)`
      )
    }
    const nameToken = take('the key name')
    if (nameToken.kind === 'punct') throw new KeyFileError(`line ${nameToken.line}: the key has no name`)
    const name = nameToken.text.replace(/\.$/, '')
    if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(name) || name.length > 253) {
      throw new KeyFileError(`line ${nameToken.line}: the key name "${name.slice(0, 60)}" is not a DNS name`)
    }
    expect('{')
    let algorithmText: string | undefined
    let secretText: string | undefined
    while (peek()?.text !== '}') {
      const field = take('algorithm or secret')
      const value = take(`the value of ${field.text}`)
      if (value.kind === 'punct') throw new KeyFileError(`line ${value.line}: ${field.text} has no value`)
      expect(';')
      if (field.text.toLowerCase() === 'algorithm') algorithmText = value.text
      else if (field.text.toLowerCase() === 'secret') secretText = value.text
      else throw new KeyFileError(`line ${field.line}: unknown key field "${field.text.slice(0, 40)}" (a key has algorithm and secret)`)
    }
    expect('}')
    expect(';')
    if (algorithmText === undefined) throw new KeyFileError(`key "${name}" has no algorithm`)
    if (secretText === undefined) throw new KeyFileError(`key "${name}" has no secret`)
    const algorithm = tsigAlgorithmFromName(algorithmText)
    if (algorithm === undefined) {
      throw new KeyFileError(`key "${name}": algorithm "${algorithmText.slice(0, 40)}" is not one of ${TSIG_ALGORITHM_NAMES.join(', ')}`)
    }
    const compact = secretText.replace(/\s+/g, '')
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
      throw new KeyFileError(`key "${name}": the secret is not base64`)
    }
    keys.push({ name: name.toLowerCase(), algorithm, secret: Buffer.from(compact, 'base64') })
  }
  if (keys.length === 0) throw new KeyFileError('the file holds no key statement')
  return keys
}
