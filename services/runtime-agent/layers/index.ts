export { extractLayer, type ExtractResult } from './extract';
