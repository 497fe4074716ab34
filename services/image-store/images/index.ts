export { type ImageContext, type Progress, type ProgressSink } from './context';
export { pullImage, type PullRequest } from './pull';
export { pushImage, type PushRequest } from './push';
export { tagImage, removeImage, type ContainersUsing, type RemoveOptions } from './tags';
export { listImages, inspectImage, imageHistory, resolveForRuntime, type ImageFilters, type ImageDetails, type HistoryStep } from './queries';
export { putImage, type PutImageRequest } from './put';
export { collectGarbage, GcLock } from './gc';
export { MEDIA_TYPES, type Descriptor, type ImageConfig } from './manifest';
export { familiarName, parseReference, formatReference } from '../../../libs/reference';
