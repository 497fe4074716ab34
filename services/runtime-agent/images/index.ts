export { prepareImage, type PreparedImage } from './prepare';
