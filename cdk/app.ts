import { App } from 'aws-cdk-lib';
import { ContextError } from './config.ts';
import { addWebhookStacks } from './webhooks.ts';

// The CDK app (`cdk.json` runs it with tsx). A bad context value stops here with its key's name.
const app = new App();
try {
  addWebhookStacks(app);
} catch (error) {
  if (!(error instanceof ContextError)) throw error;
  console.error(error.message);
  process.exit(1);
}
app.synth();
