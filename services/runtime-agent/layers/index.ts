export { chainIds } from './chain';
export { LayerStore, type LayerToUnpack, type OpenBlob } from './store';
