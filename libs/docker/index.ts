/** Berth's records in the shapes of Docker's API, for the command line's output and the Docker Engine API. */
export { dockerContainer } from './container';
export { dockerExposedPorts, dockerNetworkSettings, dockerPortBindings } from './network-settings';
export { displayablePorts, hostAddress, portKey, publishedPortLines } from './ports';
export { dockerNetwork } from './network';
export { dockerVolume } from './volume';
