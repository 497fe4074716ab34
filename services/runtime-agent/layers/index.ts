export { extractLayer, type ExtractResult } from './extract';
export { chainIds } from './chain';
export { LayerStore, type LayerToUnpack, type OpenBlob } from './store';
