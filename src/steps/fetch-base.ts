// Placeholder replaced by the verified download (issue 4).
import { UserInputError } from '../pipeline/errors.js';
import type { StepContext } from '../pipeline/runner.js';
import type { Config } from '../config/schema.js';
import type { BaseImage, BuildOptions } from './build-state.js';

export async function fetchVerifiedBase(url: string, _base: Config['base'], _options: BuildOptions, _ctx: StepContext): Promise<BaseImage> {
  throw new UserInputError(`base ISO ${url} is a URL, and downloading is not available yet; download it and pass --base-iso PATH`);
}
