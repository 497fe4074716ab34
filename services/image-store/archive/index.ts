export { saveImages } from './save';
export { loadImages } from './load';
