import packageJson from '../../package.json';

/** The Berth release, from package.json. */
export const VERSION: string = packageJson.version;
