export { prepareImage, type PreparedImage } from './prepare';
export { ImageStore } from './image-store';
