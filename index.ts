import { readSettings } from "./config/settings";
import { buildStack } from "./stack";

// Every setting is read and checked before the first resource is registered.
const { outputs } = buildStack(readSettings());

export const siteUrl = outputs.siteUrl;
export const hostAddress = outputs.hostAddress;
export const sshCommand = outputs.sshCommand;
export const volumes = outputs.volumes;
export const backupContainer = outputs.backupContainer;
export const backupBucket = outputs.backupBucket;
export const databaseUrl = outputs.databaseUrl;
export const superuserPassword = outputs.superuserPassword;
export const accessoryPasswords = outputs.accessoryPasswords;
export const operations = outputs.operations;
