export { applyChanges, type RunConfig } from './changes';
