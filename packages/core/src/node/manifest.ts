import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ManifestError, manifestFileName, parseDeploymentManifest, serializeDeploymentManifest, type DeploymentManifest } from '../manifest.js';

/**
 * Reads and checks a deployment manifest file (`ZKC_DEPLOYMENT=`), synchronously: it is read once,
 * at start-up, while configuration is parsed.
 * @throws {ManifestError} when the file is missing, not JSON, or not a manifest for this build.
 */
export function readDeploymentManifest(path: string): DeploymentManifest {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new ManifestError('deployment manifest not found', {
      details: `${file}: write one with \`npm run deploy\`, or point ZKC_DEPLOYMENT at deployments/<chainId>-<address>.json`,
      cause,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ManifestError('deployment manifest is not JSON', { details: file, cause });
  }
  return parseDeploymentManifest(json, file);
}

/** Writes a manifest into `dir` as `<chainId>-<address>.json` (atomically) and returns its path. */
export async function writeDeploymentManifest(dir: string, manifest: DeploymentManifest): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(resolve(dir), manifestFileName(manifest));
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, serializeDeploymentManifest(manifest));
  await rename(tmp, file);
  return file;
}
