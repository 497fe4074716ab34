export { runtimeConfig, type ContainerSpec, type OciMount } from './spec';
export { seccompFor, DEFAULT_PROFILE_PATH } from './seccomp';
export { DEFAULT_CAPABILITIES } from './defaults';
export { attachLinkPath, attachSocketPath, createWithConmon, execWithConmon, readExitStatus, parseK8sLog, resolveProgram, type ConmonOptions } from './conmon';
export { OciRuntime, type RuntimeState, type ResourceUpdate } from './runc';
export { AttachConnection, resizeTerminal, type AttachOutput } from './attach';
