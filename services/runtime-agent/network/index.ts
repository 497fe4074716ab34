export { NetworkManager, type ContainerAttachments, type NetworkSettings, type CreateNetworkInput } from './networks';
export { attachEndpoint, detachEndpoint, joinNetwork, namespaceOf, networkOfMode, restoreSandbox, setUpSandbox, tearDownSandbox, type Sandbox } from './sandbox';
export { namespacePath } from './links';
export { DEFAULT_NETWORK, HOST_MODE, NONE_MODE, type Endpoint, type Network, type PublishedPort } from './model';
