export { VolumeService } from './volume-service';
