import { BerthError, invalidArgument } from '../../../libs/errors';

/**
 * Docker's processing of the words of ENV, ADD, COPY, WORKDIR and the other instructions the builder
 * expands: the semantics of moby's shell lexer (frontend/dockerfile/shell/lex.go), which is not a
 * shell. It knows $VAR, ${VAR}, ${VAR:-word} ${VAR-word} ${VAR:+word} ${VAR+word} ${VAR:?message}
 * ${VAR?message}, single quotes (all literal), double quotes (variables expand, the escape character
 * escapes only " $ and itself) and the escape character outside quotes; quotes are removed. Nothing
 * else is special: $(...), globs and ~ are left to RUN's shell. An unknown variable expands to "".
 */
type Variables = Record<string, string>;

/**
 * How deeply ${...} may nest (${A:-${B:-...}}). Each level is a recursive read; without a bound, a
 * line of thousands of them overflows the stack (a RangeError, not an error in the Dockerfile).
 */
const MAX_NESTING = 100;

/** word expanded as one string (moby's ProcessWord): blanks, even unquoted ones, stay. */
export function expandWord(word: string, vars: Variables, escape: string): string {
  return new WordLexer(word, vars, escape).read().text;
}

/**
 * text expanded and split into words at unquoted blanks (moby's ProcessWords). The split comes after
 * expansion, so an unquoted variable whose value has blanks gives several words; a quoted one gives one.
 */
export function expandWords(text: string, vars: Variables, escape: string): string[] {
  return new WordLexer(text, vars, escape).read().words;
}

class WordLexer {
  private position = 0;
  private depth = 0;

  constructor(
    private readonly input: string,
    private readonly vars: Variables,
    private readonly escape: string,
  ) {}

  /** Reads to the end, or to an unescaped "}" (consumed) when inside ${...}. */
  read(untilBrace = false): { text: string; words: string[] } {
    let text = '';
    const words = new WordCollector();
    while (this.position < this.input.length) {
      const char = this.input[this.position]!;
      if (untilBrace && char === '}') {
        this.position++;
        return { text, words: words.finish() };
      }
      if (char === "'" || char === '"') {
        const quoted = char === "'" ? this.singleQuoted() : this.doubleQuoted();
        text += quoted;
        words.addQuoted(quoted);
      } else if (char === '$') {
        const value = this.dollar();
        text += value;
        words.addUnquoted(value);
      } else {
        this.position++;
        if (char === this.escape) {
          if (this.position === this.input.length) break; // an escape at the very end is dropped
          const escaped = this.input[this.position++]!;
          text += escaped;
          words.addQuoted(escaped);
        } else {
          text += char;
          words.addUnquoted(char);
        }
      }
    }
    if (untilBrace) throw this.error("syntax error: missing '}'");
    return { text, words: words.finish() };
  }

  private singleQuoted(): string {
    const end = this.input.indexOf("'", this.position + 1);
    if (end < 0) throw this.error('unexpected end of statement while looking for matching single-quote');
    const quoted = this.input.slice(this.position + 1, end);
    this.position = end + 1;
    return quoted;
  }

  private doubleQuoted(): string {
    let quoted = '';
    this.position++;
    for (;;) {
      const char = this.input[this.position];
      if (char === undefined) throw this.error('unexpected end of statement while looking for matching double-quote');
      if (char === '"') {
        this.position++;
        return quoted;
      }
      if (char === '$') {
        quoted += this.dollar();
        continue;
      }
      this.position++;
      const next = this.input[this.position];
      if (char === this.escape && (next === '"' || next === '$' || next === this.escape)) {
        quoted += next;
        this.position++;
      } else if (char !== this.escape || next !== undefined) {
        // Any other escape stays as written, as in sh.
        quoted += char;
      }
    }
  }

  /** $NAME or ${NAME...}, at the "$". */
  private dollar(): string {
    this.position++;
    if (this.input[this.position] !== '{') {
      const name = this.name();
      return name === '' ? '$' : (this.lookup(name) ?? '');
    }
    this.position++;
    const first = this.input[this.position];
    if (first === undefined) throw this.error("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw this.error('syntax error: bad substitution');
    const name = this.name();
    let operator = this.input[this.position++];
    if (operator === undefined) throw this.error("syntax error: missing '}'");
    if (operator === '}') return this.lookup(name) ?? '';
    const emptyIsUnset = operator === ':';
    if (emptyIsUnset) operator = this.input[this.position++];
    if (operator !== '-' && operator !== '+' && operator !== '?') {
      throw this.error(`unsupported modifier (${emptyIsUnset ? ':' : ''}${operator ?? ''}) in substitution of ${name}`);
    }
    // The word is read (and expanded) even when it is not used, so that its errors show, as in Docker.
    if (++this.depth > MAX_NESTING) throw this.error(`substitutions nested more than ${MAX_NESTING} deep`);
    const word = this.read(true).text;
    this.depth--;
    const value = this.lookup(name);
    const isUnset = value === undefined || (emptyIsUnset && value === '');
    switch (operator) {
      case '-':
        return isUnset ? word : value;
      case '+':
        return isUnset ? '' : word;
      case '?':
        if (!isUnset) return value;
        throw this.error(`${name}: ${word !== '' ? word : value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty'}`);
    }
  }

  /**
   * A variable name: letters, digits and "_"; or digits alone ($1); or one of sh's special parameters
   * ($@, $#, ...), which are never set in a build.
   */
  private name(): string {
    const rest = this.input.slice(this.position);
    const name = /^(?:\d+|[@*#?\-$!]|[\p{L}\p{Nd}_]*)/u.exec(rest)![0];
    this.position += name.length;
    return name;
  }

  private lookup(name: string): string | undefined {
    return Object.hasOwn(this.vars, name) ? this.vars[name] : undefined;
  }

  private error(message: string): BerthError {
    return invalidArgument(`cannot expand "${this.input}": ${message}`);
  }
}

/** The words of ProcessWords: blanks that come from the text or from a variable's value split words; quoted or escaped ones do not. */
class WordCollector {
  private readonly words: string[] = [];
  private word = '';

  addQuoted(text: string): void {
    this.word += text;
  }

  addUnquoted(text: string): void {
    for (const char of text) {
      if (!/\s/.test(char)) this.word += char;
      else if (this.word !== '') {
        this.words.push(this.word);
        this.word = '';
      }
    }
  }

  finish(): string[] {
    if (this.word !== '') this.words.push(this.word);
    return this.words;
  }
}
