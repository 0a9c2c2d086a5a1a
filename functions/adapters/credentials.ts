import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CredentialSource } from '#core/config';
import { type CredentialsSource, readCredentials, type WebhookCredentials } from '#core/credentials';
import { errorLogLine, LoggableError } from '#core/errors';
import { type Logger, silentLogger } from '#core/ports';
import type { AnyProvider } from '#core/provider';
import { ingestClientOptions } from './client-options.ts';

const retryAfterFailureSeconds = 30;

/** Credentials from the environment: fixed for the life of the process (local runs, tests). */
export class StaticCredentials implements CredentialsSource {
  constructor(private readonly credentials: WebhookCredentials) {}
  async get() {
    return this.credentials;
  }
}

/**
 * Credentials from one Secrets Manager secret holding the credentials document (`readCredentials`:
 * `{"cooledge": {"secrets": ["…"]}, "zenbooker": {"tokens": ["…"]}, …}`). Read at cold start, cached, and re-read
 * every `refreshSeconds` so a rotation takes effect without a redeploy. When a refresh fails the
 * last good value is kept (a Secrets Manager blip must not turn into 401s for real deliveries) and
 * the failure is logged here, since no request fails for it; a failed first read fails the request,
 * whose handler logs it.
 */
export class SecretsManagerCredentials implements CredentialsSource {
  private cached: { value: WebhookCredentials; at: number } | undefined;
  private inflight: Promise<WebhookCredentials> | undefined;

  constructor(
    private readonly secretId: string,
    private readonly refreshSeconds: number,
    private readonly providers: ReadonlyMap<string, AnyProvider>,
    private readonly client: SecretsManagerClient = new SecretsManagerClient(ingestClientOptions),
    private readonly now: () => number = Date.now,
    private readonly logger: Logger = silentLogger,
  ) {}

  async get(): Promise<WebhookCredentials> {
    const cached = this.cached;
    if (cached && this.now() - cached.at < this.refreshSeconds * 1000) return cached.value;
    this.inflight ??= this.fetch()
      .catch((error: unknown) => {
        // Once per failed read, however many requests wait on it. The secret's name and the error
        // (Secrets Manager's code, HTTP status and message, or what is wrong with the value's
        // shape), never the value.
        if (this.cached) {
          this.logger.warn('secret refresh failed, keeping the last good value', {
            secretId: this.secretId,
            error: errorLogLine(error),
          });
        }
        throw error;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    try {
      return await this.inflight;
    } catch (error) {
      if (!cached) throw error;
      // Keep serving the last good value, and try again in a while rather than on every request.
      cached.at = this.now() - Math.max(0, this.refreshSeconds - retryAfterFailureSeconds) * 1000;
      return cached.value;
    }
  }

  private async fetch(): Promise<WebhookCredentials> {
    const out = await this.client.send(new GetSecretValueCommand({ SecretId: this.secretId }));
    let parsed: unknown;
    try {
      parsed = JSON.parse(out.SecretString ?? '');
    } catch {
      throw new LoggableError('webhook secret is not JSON');
    }
    const result = readCredentials(parsed, this.providers);
    if (!result.ok) {
      throw new LoggableError(
        `webhook secret is invalid at ${result.problem.path}: ${result.problem.message}`,
      );
    }
    this.cached = { value: result.value, at: this.now() };
    return result.value;
  }
}

/** The source a configuration names: the env credentials as read, or the secret, cached. */
export function credentialsFrom(
  source: CredentialSource,
  providers: ReadonlyMap<string, AnyProvider>,
  logger: Logger = silentLogger,
): CredentialsSource {
  return source.kind === 'env'
    ? new StaticCredentials(source.credentials)
    : new SecretsManagerCredentials(
        source.secretId,
        source.refreshSeconds,
        providers,
        undefined,
        undefined,
        logger,
      );
}
