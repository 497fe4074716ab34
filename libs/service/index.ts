export { runService, type ServiceContext, type ServiceSpec } from './run';
export { serviceDependency, binaryDependency, directoryDependency, type DependencyCheck } from './dependencies';
