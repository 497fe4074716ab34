import { invalidArgument } from '../../../libs/errors';

/**
 * The words of an instruction's arguments, split where Docker's parser splits them before any
 * expansion (moby's parseWords): at blanks outside quotes. Quotes and escapes stay in the words, for
 * expandWord to process later with the variables of that point of the build.
 */
export function splitRawWords(text: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quote === undefined && /\s/.test(char)) {
      if (word !== '') words.push(word);
      word = '';
      continue;
    }
    if (char === escape && quote !== "'") {
      // The escape and the character it escapes stay together (a quote escaped this way does not
      // open or close anything); an escape ending the text is dropped.
      if (i + 1 < text.length) word += char + text[++i];
      continue;
    }
    if (quote === undefined && (char === '"' || char === "'")) quote = char;
    else if (char === quote) quote = undefined;
    word += char;
  }
  if (word !== '') words.push(word);
  return words;
}

/** Words split at blanks only, as Docker splits COPY, ADD, VOLUME, EXPOSE and FROM arguments: quotes do not group. */
export function splitWhitespace(text: string): string[] {
  return text.split(/[\t\v\f\r\n ]+/).filter((word) => word !== '');
}

/**
 * ENV's and LABEL's pairs, unexpanded. Two forms, told apart as Docker does by the first word: with an
 * "=" it is `KEY=value KEY2="value 2"...`; without, it is the old `KEY value...`, one pair whose value
 * is the rest of the line, blanks and all.
 */
export function keyValuePairs(keyword: 'ENV' | 'LABEL', text: string, escape: string): Array<[string, string]> {
  const words = splitRawWords(text, escape);
  if (words.length === 0) throw invalidArgument(`${keyword} requires at least one argument: ${keyword} name=value`);
  if (!words[0]!.includes('=')) {
    const oldForm = /^(\S+)\s+(.*)$/s.exec(text.trim());
    if (oldForm === null) throw invalidArgument(`${keyword} ${words[0]} has no value: write ${keyword} ${words[0]}=value`);
    return [[oldForm[1]!, oldForm[2]!]];
  }
  return words.map((word) => {
    const equals = word.indexOf('=');
    if (equals < 0) throw invalidArgument(`${keyword} needs name=value pairs, and "${word}" has no "="`);
    if (equals === 0) throw invalidArgument(`${keyword} names can not be blank ("${word}")`);
    return [word.slice(0, equals), word.slice(equals + 1)];
  });
}

/** ARG's declarations, unexpanded: `ARG NAME` or `ARG NAME=default`, several to a line. */
export function argDeclarations(text: string, escape: string): Array<{ name: string; defaultValue?: string }> {
  const words = splitRawWords(text, escape);
  if (words.length === 0) throw invalidArgument('ARG requires at least one argument: ARG name[=default]');
  return words.map((word) => {
    const equals = word.indexOf('=');
    if (equals < 0) return { name: word };
    if (equals === 0) throw invalidArgument(`ARG names can not be blank ("${word}")`);
    return { name: word.slice(0, equals), defaultValue: word.slice(equals + 1) };
  });
}
