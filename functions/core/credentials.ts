import * as v from 'valibot';

/**
 * The webhook credentials, wherever they are stored. Several values may be active at once so a
 * secret or token can be rotated without a window where real deliveries fail.
 */
export const WebhookCredentials = v.object({
  cooledgeSecrets: v.pipe(
    v.array(v.pipe(v.string(), v.minLength(16, 'each Cooledge secret must be at least 16 characters'))),
    v.minLength(1, 'at least one Cooledge secret is required'),
  ),
  zenbookerTokens: v.pipe(
    v.array(
      v.pipe(
        v.string(),
        v.regex(
          /^[A-Za-z0-9_-]{24,}$/,
          'each Zenbooker token must be at least 24 URL-safe characters ([A-Za-z0-9_-])',
        ),
      ),
    ),
    v.minLength(1, 'at least one Zenbooker token is required'),
  ),
});
export type WebhookCredentials = v.InferOutput<typeof WebhookCredentials>;

/** Port: returns the credentials in force now (cached and refreshed by the adapter). */
export interface CredentialsSource {
  get(): Promise<WebhookCredentials>;
}
