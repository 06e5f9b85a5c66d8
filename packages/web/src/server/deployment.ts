import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { isZkCreditsError, parseDeploymentManifest, type DeploymentManifest } from '@zkcredits/core';
import { ConfigError } from '../config';
import { repoRoot } from './paths';

/**
 * Reads the deployment manifest `ZKC_DEPLOYMENT` points to (a path, relative to the repository
 * root unless absolute), synchronously: it is read at render time, so a new manifest takes
 * effect on the next page load. Throws a ConfigError that says what is wrong and where.
 */
export function readManifestFile(path: string): DeploymentManifest {
  const file = isAbsolute(path) ? path : resolve(repoRoot(), path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(`ZKC_DEPLOYMENT: no deployment manifest at ${file}. Point it at deployments/<chainId>-<address>.json (written by the deploy command).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ConfigError(`ZKC_DEPLOYMENT: ${file} is not JSON, so it is not a deployment manifest.`);
  }
  try {
    return parseDeploymentManifest(json, file);
  } catch (error) {
    if (!isZkCreditsError(error)) throw error;
    throw new ConfigError(`ZKC_DEPLOYMENT: ${error.shortMessage}${error.details ? ` (${error.details})` : ''}.`);
  }
}
