export { readStats, cgroupsOf, type CgroupStats } from './stats';
