/**
 * The builder's Dockerfile front end: parsing (parseDockerfile), Docker's word expansion (expandWord,
 * expandWords) and the per-instruction resolution the build does as it goes (resolveInstruction,
 * resolveFrom). Pure: no I/O, no state.
 */
export { expandWord, expandWords } from './expand';
export * from './model';
export { parseDockerfile } from './parse';
export { resolveFrom, resolveInstruction } from './resolve';
