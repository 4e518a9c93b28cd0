/**
 * Bundles only (see infra/bundling/aliases.ts): stands in for `@aws-sdk/credential-provider-node`,
 * the SDK's default credential chain, whose SSO, INI-file, process, web-identity and instance-metadata
 * providers (and the STS/SSO clients they carry) are about 130 KB of every bundle and never run in
 * Lambda. Lambda hands the execution role's credentials to the function in AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Should those be missing while a credentials endpoint
 * is announced (AWS_CONTAINER_CREDENTIALS_FULL_URI / _RELATIVE_URI, as on ECS), the chain's own
 * `fromHttp` reads it. Unit and integration tests run the unbundled code, with the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';
import { fromHttp } from '@aws-sdk/credential-provider-http';

type Provider = ReturnType<typeof fromEnv>;

/** Same signature as the chain's `defaultProvider`; the SDK client memoizes what it returns. */
export const defaultProvider =
  (init: Parameters<typeof fromEnv>[0] = {}): Provider =>
  async (props) => {
    const env = process.env;
    const fromContainer =
      !env.AWS_ACCESS_KEY_ID &&
      Boolean(env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI);
    return fromContainer ? fromHttp(init)(props) : fromEnv(init)(props);
  };
